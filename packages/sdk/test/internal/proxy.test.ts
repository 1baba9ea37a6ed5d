import type http from 'node:http';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forwardingProxy, healthBody, startServer, type TestServer } from '../../../testkit/src/index.js';
import { APIConnectionError, Fleece } from '../../src/index.js';
import { undiciExports } from '../../src/internal/dispatcher.js';

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];

let target: TestServer;
let proxy: TestServer;
let forwarded: string[];
let tunnels: string[];
let viaProxy: Array<string | undefined>;

beforeEach(async () => {
  for (const name of PROXY_VARIABLES) vi.stubEnv(name, undefined);
  forwarded = [];
  tunnels = [];
  viaProxy = [];
  target = await startServer((req, res) => {
    viaProxy.push(req.headers.via);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(healthBody('ok')));
  });
  // A minimal forward proxy: absolute-form requests for http: targets, CONNECT (refused) for https: ones.
  proxy = await startServer(forwardingProxy((line) => forwarded.push(line)));
  proxy.server.on('connect', (req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
    tunnels.push(`${req.method} ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all([target.close(), proxy.close()]);
});

const client = (options: ConstructorParameters<typeof Fleece>[0] = {}) =>
  new Fleece({ auth: false, baseURL: target.url, maxRetries: 0, ...options });

describe('proxies from the environment (undici EnvHttpProxyAgent)', () => {
  it('sends http: requests through HTTP_PROXY', async () => {
    vi.stubEnv('HTTP_PROXY', proxy.url);
    await expect(client().health.check()).resolves.toEqual(healthBody('ok'));
    expect(forwarded).toEqual([`GET ${target.url}/api/health`]);
    expect(viaProxy).toEqual(['1.1 test-proxy']);
  });

  it('ignores a blank http_proxy and uses HTTP_PROXY', async () => {
    vi.stubEnv('http_proxy', ' ');
    vi.stubEnv('HTTP_PROXY', proxy.url);
    await client().health.check();
    expect(forwarded).toHaveLength(1);
  });

  it('goes direct for hosts in NO_PROXY', async () => {
    vi.stubEnv('HTTP_PROXY', proxy.url);
    vi.stubEnv('NO_PROXY', 'localhost,127.0.0.1');
    await client().health.check();
    expect(forwarded).toEqual([]);
    expect(viaProxy).toEqual([undefined]);
  });

  it('goes direct without proxy variables', async () => {
    await client().health.check();
    expect(forwarded).toEqual([]);
    expect(viaProxy).toEqual([undefined]);
  });

  it('tunnels https: requests through HTTPS_PROXY with CONNECT', async () => {
    vi.stubEnv('HTTPS_PROXY', proxy.url);
    const error = await client({ baseURL: 'https://fleece.invalid' })
      .health.check()
      .catch((e: unknown) => e);
    expect(tunnels).toEqual(['CONNECT fleece.invalid:443']);
    expect(error).toBeInstanceOf(APIConnectionError);
  });

  it('uses an explicit dispatcher instead', async () => {
    vi.stubEnv('HTTP_PROXY', proxy.url);
    const dispatcher = new Agent();
    try {
      await client({ dispatcher }).health.check();
      expect(forwarded).toEqual([]);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('loading undici', () => {
  it('regression: EnvHttpProxyAgent is not a constructor — takes undici from `default` when a bundler gives only that', async () => {
    const undici = await import('undici');
    expect(undiciExports({ default: undici }).EnvHttpProxyAgent).toBe(undici.EnvHttpProxyAgent);
    expect(undiciExports(undici).request).toBe(undici.request);
    expect(() => undiciExports({ default: {} })).toThrow(TypeError);
  });
});
