import type { Dispatcher } from 'undici';
import { readEnv } from './env.js';
import { readableResponse } from './response.js';

const pools = new Map<string, Dispatcher>();

type Undici = typeof import('undici');

let undici: Promise<Undici> | undefined;

/**
 * undici's exports from the namespace a dynamic `import('undici')` gave. undici is CommonJS: Node's own
 * ESM loader gives its exports by name (and the whole `module.exports` as `default`), but a bundler may
 * give only `default`; esbuild does so when it splits code (`splitting: true`, as the CLI is built), which
 * made every proxied request fail with "EnvHttpProxyAgent is not a constructor" (issue #17).
 *
 * @param namespace - the module namespace object of `import('undici')`.
 * @returns the object whose properties are undici's exports (`request`, `EnvHttpProxyAgent`, …).
 * @throws {TypeError} when neither the namespace nor its `default` has undici's exports.
 */
export function undiciExports(namespace: object): Undici {
  const ns = namespace as Partial<Undici> & { default?: Partial<Undici> };
  if (typeof ns.EnvHttpProxyAgent === 'function' && typeof ns.request === 'function') return ns as Undici;
  const fallback = ns.default;
  if (typeof fallback?.EnvHttpProxyAgent === 'function' && typeof fallback.request === 'function') {
    return fallback as Undici;
  }
  throw new TypeError('undici could not be loaded: its module has no `request` or `EnvHttpProxyAgent`');
}

/**
 * undici, loaded on first use: a client given its own `fetch` (the CLI without a proxy, tests) never pays
 * for loading it, which is a large part of a short-lived process's start-up. Works whether a bundler gives
 * the CommonJS module's exports by name or only as `default` (see {@link undiciExports}).
 */
export function loadUndici(): Promise<Undici> {
  undici ??= import('undici').then(undiciExports);
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
