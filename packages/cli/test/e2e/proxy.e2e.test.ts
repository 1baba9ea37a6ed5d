import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forwardingProxy } from '../../../testkit/src/index.js';
import { runFleece, type SignedInE2eSetup, useRealServer } from './harness.js';

/**
 * A real HTTP proxy on 127.0.0.1: forwards absolute-form requests (`GET http://host/path`, as clients send
 * http: requests through a proxy) and tunnels `CONNECT host:port` (RFC 9110 §9.3.6), recording each.
 */
async function startProxy(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<Socket | Duplex>();
  const server: Server = createServer(forwardingProxy((line) => seen.push(line)));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (a proxy that is down). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Check = { id: string; status: string; summary: string; fix?: string };
const checksOf = (stdout: string) =>
  Object.fromEntries((JSON.parse(stdout).checks as Check[]).map((c) => [c.id, c])) as Record<string, Check>;

let setup: SignedInE2eSetup;
let proxy: Awaited<ReturnType<typeof startProxy>>;

useRealServer({ signIn: { email: 'proxy@example.com', plan: 'free' } }, (ready) => {
  setup = ready;
});
beforeAll(async () => {
  proxy = await startProxy();
});
beforeEach(() => {
  proxy.seen.length = 0;
});
afterAll(async () => {
  await proxy?.close();
});

// Generous timeouts: CI runs every project's tests at once on two cores.
describe('the built fleece binary behind an HTTP proxy (issue #17)', { timeout: 60_000 }, () => {
  it('regression: EnvHttpProxyAgent is not a constructor — with HTTP_PROXY set, commands go through the proxy', async () => {
    const env = { ...setup.env, HTTP_PROXY: proxy.url };
    const health = await runFleece(['health', '--json'], { home: setup.home, env });
    expect(health.stderr).toBe('');
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ server: setup.server.url, status: 'ok' });
    const whoami = await runFleece(['whoami', '--json'], { home: setup.home, env });
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ user: { email: 'proxy@example.com' } });
    expect(proxy.seen).toEqual([`GET ${setup.server.url}/api/health`, `GET ${setup.server.url}/api/v1/me`]);
  });

  it('regression: with NO_PROXY covering the host, commands connect directly and the proxy sees nothing', async () => {
    const env = { ...setup.env, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' };
    const whoami = await runFleece(['whoami', '--json'], { home: setup.home, env });
    expect(whoami.stderr).toBe('');
    expect(whoami.code).toBe(0);
    expect(proxy.seen).toEqual([]);
  });

  it('regression: doctor reports the proxy as used only when its own request went through it', async () => {
    const through = await runFleece(['doctor', '--json'], {
      home: setup.home,
      env: { ...setup.env, HTTP_PROXY: proxy.url },
    });
    expect(proxy.seen).toContain(`GET ${setup.server.url}/api/health`);
    const checks = checksOf(through.stdout);
    expect(checks.server?.status).toBe('ok');
    expect(checks.proxy).toEqual({
      id: 'proxy',
      status: 'ok',
      summary: `HTTP_PROXY=${proxy.url}; ${setup.server.url} is reached through ${proxy.url}`,
    });

    proxy.seen.length = 0;
    const direct = await runFleece(['doctor', '--json'], {
      home: setup.home,
      env: { ...setup.env, HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' },
    });
    expect(proxy.seen).toEqual([]);
    expect(checksOf(direct.stdout).proxy).toEqual({
      id: 'proxy',
      status: 'ok',
      summary: `HTTP_PROXY=${proxy.url}, NO_PROXY=localhost,127.0.0.1; ${setup.server.url} is reached directly (NO_PROXY)`,
    });
  });

  it('regression: doctor fails the proxy check when the proxy is down instead of calling it reached', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const result = await runFleece(['doctor', '--json'], {
      home: setup.home,
      env: { ...setup.env, HTTP_PROXY: down },
    });
    expect(result.code).toBe(1);
    const checks = checksOf(result.stdout);
    expect(checks.server?.status).toBe('fail');
    expect(checks.proxy).toEqual({
      id: 'proxy',
      status: 'fail',
      summary: `HTTP_PROXY=${down}; could not connect to the proxy ${down}`,
      fix: `Check that the proxy runs at ${down}, or unset HTTP_PROXY (or list 127.0.0.1 in NO_PROXY) to connect directly.`,
    });
  });
});
