import type { Dispatcher } from 'undici';
import { readEnv } from './env.js';

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

/** undici's `fetch`, loaded on the first request. */
export async function undiciFetch(input: string, init: RequestInit): Promise<Response> {
  const { fetch } = await loadUndici();
  // The casts: @types/node's `RequestInit`/`Response` are its bundled undici's, not this undici's.
  return (await fetch(input, init as never)) as unknown as Response;
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
