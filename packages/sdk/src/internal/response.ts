import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/** Response headers as Node and undici's `request()` give them: lower-case names, repeats as arrays. */
export type RawHeaderMap = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

/** Read-only `Headers` over a {@link RawHeaderMap}, without copying it into a `Headers` object. */
class RawHeaders {
  readonly #raw: RawHeaderMap;

  constructor(raw: RawHeaderMap) {
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
 * The part of the WHATWG `Response` the SDK (and `withResponse().response`) uses, over a Node `Readable`
 * body: `status`, `ok`, `statusText`, `headers`, `text()`, `json()`, `arrayBuffer()` and `body` (a WHATWG
 * `ReadableStream`, made on first use).
 */
class ReadableResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: Headers;
  readonly redirected = false;
  readonly type = 'basic';
  readonly url: string;
  readonly #body: Readable;
  #web: ReadableStream<Uint8Array> | undefined;

  constructor(url: string, status: number, statusText: string, headers: RawHeaderMap, body: Readable) {
    this.url = url;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.statusText = statusText;
    this.headers = new RawHeaders(headers) as unknown as Headers;
    this.#body = body;
  }

  get body(): ReadableStream<Uint8Array> {
    this.#web ??= Readable.toWeb(this.#body) as unknown as ReadableStream<Uint8Array>;
    return this.#web;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.#body) chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    // undici's body reads itself faster than a generic loop.
    const own = (this.#body as { text?: () => Promise<string> }).text;
    if (typeof own === 'function') return own.call(this.#body);
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of this.#body) text += decoder.decode(chunk as Buffer, { stream: true });
    return text + decoder.decode();
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/** A `Response` (its part the SDK uses) over a Node `Readable` body and raw headers. */
export function readableResponse(
  url: string,
  status: number,
  statusText: string,
  headers: RawHeaderMap,
  body: Readable,
): Response {
  return new ReadableResponse(url, status, statusText, headers, body) as unknown as Response;
}
