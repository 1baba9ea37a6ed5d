import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../src/lib/node-fetch.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('nodeFetch', () => {
  it('sends the method, headers and body, and reads status, headers and JSON', async () => {
    let seen: { method?: string; auth?: string; body?: string } = {};
    const url = await serve(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen = { method: req.method, auth: req.headers.authorization, body };
      res.writeHead(201, {
        'content-type': 'application/json',
        'x-request-id': 'req_1',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end('{"ok":true}');
    });
    const response = await nodeFetch(`${url}/api/v1/thing?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer flc_x', 'content-type': 'application/json' },
      body: '{"name":"n"}',
    });
    expect(seen).toEqual({ method: 'POST', auth: 'Bearer flc_x', body: '{"name":"n"}' });
    expect([response.status, response.ok]).toEqual([201, true]);
    expect(response.headers.get('X-Request-Id')).toBe('req_1');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ ok: true });
  });

  it('streams the body as a WHATWG ReadableStream (server-sent events)', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: a\n\n');
      res.end('id: 2\ndata: b\n\n');
    });
    const response = await nodeFetch(url, { method: 'GET' });
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk);
    expect(text).toBe('id: 1\ndata: a\n\nid: 2\ndata: b\n\n');
  });

  it('rejects when the signal aborts, and on a refused connection with its code', async () => {
    const url = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const pending = nodeFetch(url, { method: 'GET', signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(nodeFetch('http://127.0.0.1:9/', { method: 'GET' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
