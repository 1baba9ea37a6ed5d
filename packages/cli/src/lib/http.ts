import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * Read-only `Headers` over a Node response's headers (lower-case names; `set-cookie` as an array).
 */
class NodeHeaders {
  readonly #raw: IncomingHttpHeaders;

  constructor(raw: IncomingHttpHeaders) {
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

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) callback(value, name);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** The part of a WHATWG `Response` the SDK reads, over a Node `IncomingMessage`. */
class NodeResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly #message: IncomingMessage;
  #web: ReadableStream<Uint8Array> | undefined;

  constructor(url: string, message: IncomingMessage) {
    this.url = url;
    this.#message = message;
    this.status = message.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.statusText = message.statusMessage ?? '';
    this.headers = new NodeHeaders(message.headers) as unknown as Headers;
  }

  get body(): ReadableStream<Uint8Array> {
    this.#web ??= Readable.toWeb(this.#message) as unknown as ReadableStream<Uint8Array>;
    return this.#web;
  }

  async text(): Promise<string> {
    this.#message.setEncoding('utf8');
    let text = '';
    for await (const chunk of this.#message) text += chunk as string;
    return text;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/**
 * A `fetch` for the SDK made of `node:http`/`node:https` alone (keep-alive agents, no redirects followed):
 * a command makes a request or two, and loading Node's built-in `fetch` (its bundled undici and the WHATWG
 * classes) costs more of a short process's start-up than the request itself. Only for direct connections:
 * with a proxy the CLI leaves the SDK its undici `EnvHttpProxyAgent` (see `fetchFor`).
 */
export async function nodeFetch(input: string, init: RequestInit): Promise<Response> {
  const url = new URL(input);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string>,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (message) => resolve(new NodeResponse(input, message) as unknown as Response),
    );
    req.on('error', reject);
    req.end(init.body as string | undefined);
  });
}
