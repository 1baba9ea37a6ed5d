import type { Dispatcher } from 'undici';
import { readEnv } from './env.js';
import { readableResponse } from './response.js';

const pools = new Map<string, Dispatcher>();

let undici: Promise<typeof import('undici')> | undefined;

/**
 * undici, loaded on first use: a client given its own `fetch` (the CLI without a proxy, tests) never pays
 * for loading it, which is a large part of a short-lived process's start-up.
 */
export function loadUndici(): Promise<typeof import('undici')> {
  undici ??= import('undici');
  return undici;
}

/**
 * The SDK's default transport: undici's `request()` (its Dispatcher API) behind a `fetch` signature. It
 * skips the WHATWG `fetch` machinery (Request and Response objects, web streams for every body), which
 * costs about as much again as the request itself on a local server (bench/sdk.bench.ts). Like a `fetch`
 * with `redirect: 'manual'`, it does not follow redirects, and it asks for no content encoding.
 */
export async function undiciRequest(input: string, init: RequestInit): Promise<Response> {
  const { request } = await loadUndici();
  const { statusCode, headers, body } = await request(input, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers as Record<string, string>,
    body: init.body as string | undefined,
    signal: init.signal ?? undefined,
    dispatcher: (init as { dispatcher?: Dispatcher }).dispatcher,
  });
  return readableResponse(input, statusCode, '', headers, body);
}

/**
 * The shared default dispatcher: an undici `EnvHttpProxyAgent` (keep-alive connection pools) that sends
 * requests through `HTTP_PROXY` / `HTTPS_PROXY` (lower-case names win, as in curl) except for hosts in
 * `NO_PROXY`. Blank variables are ignored. Clients created while the same proxy variables are set share
 * one pool; a change to the variables gives later clients a new one.
 */
export async function defaultDispatcher(): Promise<Dispatcher> {
  const httpProxy = readEnv('http_proxy') ?? readEnv('HTTP_PROXY');
  const httpsProxy = readEnv('https_proxy') ?? readEnv('HTTPS_PROXY');
  const noProxy = readEnv('no_proxy') ?? readEnv('NO_PROXY') ?? '';
  const key = JSON.stringify([httpProxy, httpsProxy, noProxy]);
  let pool = pools.get(key);
  if (!pool) {
    const { EnvHttpProxyAgent } = await loadUndici();
    // Checked again: another call may have made the pool while undici loaded.
    pool = pools.get(key);
    if (pool) return pool;
    pool = new EnvHttpProxyAgent({
      ...(httpProxy ? { httpProxy } : {}),
      ...(httpsProxy ? { httpsProxy } : {}),
      noProxy,
    });
    pools.set(key, pool);
  }
  return pool;
}
