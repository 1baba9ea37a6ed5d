import { Readable } from 'node:stream';
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

type BodyReadable = Awaited<ReturnType<typeof import('undici')['request']>>['body'];

/**
 * Read-only `Headers` over undici's raw response headers (lower-case names; a repeated header as an
 * array), without copying them into a `Headers` object.
 */
class RawHeaders {
  readonly #raw: Record<string, string | string[] | undefined>;

  constructor(raw: Record<string, string | string[] | undefined>) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    const value = this.#raw['set-cookie'];
    return value === undefined ? [] : Array.isArray(value) ? [...value] : [value];
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this as unknown as Headers);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * The response of {@link undiciRequest}: the part of the WHATWG `Response` the SDK (and
 * `withResponse().response`) uses: `status`, `ok`, `statusText`, `headers`, `text()`, `json()`,
 * `arrayBuffer()` and `body` (a WHATWG `ReadableStream`, made on first use).
 */
class DispatcherResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText = '';
  readonly headers: Headers;
  readonly redirected = false;
  readonly type = 'basic';
  readonly url: string;
  readonly #body: BodyReadable;
  #web: ReadableStream<Uint8Array> | undefined;

  constructor(url: string, status: number, headers: Headers, body: BodyReadable) {
    this.url = url;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.headers = headers;
    this.#body = body;
  }

  get body(): ReadableStream<Uint8Array> {
    this.#web ??= Readable.toWeb(this.#body) as unknown as ReadableStream<Uint8Array>;
    return this.#web;
  }

  get bodyUsed(): boolean {
    return this.#body.bodyUsed;
  }

  text(): Promise<string> {
    return this.#body.text();
  }

  json(): Promise<unknown> {
    return this.#body.json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body.arrayBuffer();
  }
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
  const responseHeaders = new RawHeaders(headers) as unknown as Headers;
  return new DispatcherResponse(input, statusCode, responseHeaders, body) as unknown as Response;
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
