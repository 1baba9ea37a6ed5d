import { connect } from 'node:net';

/** A request written byte for byte: nothing is checked or encoded, so it may be any malformed HTTP. */
export interface RawRequest {
  method: string;
  /** The request-target exactly as sent (path and query, possibly malformed or with raw bytes). */
  target: string | Buffer;
  /** Header lines as sent, in order (duplicates and odd bytes allowed). */
  headers: [string, string | Buffer][];
  body?: Buffer;
}

/** What came back: the status, the headers (lower-case names, repeated ones joined by `, `), the body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Serialises a {@link RawRequest} to bytes, adding `Content-Length` for a body unless one is given. */
export function requestBytes(request: RawRequest): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`${request.method} `, 'latin1'),
    Buffer.isBuffer(request.target) ? request.target : Buffer.from(request.target, 'utf8'),
    Buffer.from(' HTTP/1.1\r\n', 'latin1'),
  ];
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const headers = [...request.headers];
  if (!names.has('host')) headers.unshift(['host', '127.0.0.1']);
  if (!names.has('connection')) headers.push(['connection', 'close']);
  if (request.body && !names.has('content-length') && !names.has('transfer-encoding')) {
    headers.push(['content-length', String(request.body.length)]);
  }
  for (const [name, value] of headers) {
    parts.push(
      Buffer.from(`${name}: `, 'latin1'),
      Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'),
    );
    parts.push(Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('\r\n', 'latin1'));
  if (request.body) parts.push(request.body);
  return Buffer.concat(parts);
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? Number.NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, headers };
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Sends `request` to `127.0.0.1:port` on a new connection and reads one response. A streaming answer
 * (`text/event-stream`, or a chunked body still open after `streamMs`) is cut after its head and whatever
 * arrived. Resolves `undefined` when the server closed the connection without a status line; rejects when
 * nothing at all happened within `timeoutMs`.
 */
export function sendRaw(
  port: number,
  request: RawRequest,
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<RawResponse | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (value: RawResponse | undefined, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const parse = (final: boolean): RawResponse | undefined | 'more' => {
      const data = Buffer.concat(chunks);
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return final ? undefined : 'more';
      const { status, headers } = parseHead(data.subarray(0, end).toString('latin1'));
      const rest = data.subarray(end + 4);
      if ((headers['content-type'] ?? '').startsWith('text/event-stream'))
        return { status, headers, body: rest };
      if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (rest.length >= length) return { status, headers, body: rest.subarray(0, length) };
        return final ? { status, headers, body: rest } : 'more';
      }
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        if (rest.includes('\r\n0\r\n\r\n') || rest.subarray(0, 5).toString() === '0\r\n\r\n') {
          return { status, headers, body: dechunk(rest) };
        }
        return final ? { status, headers, body: dechunk(rest) } : 'more';
      }
      return final ? { status, headers, body: rest } : 'more';
    };
    const timer = setTimeout(() => {
      const partial = parse(true);
      if (partial && partial !== 'more') finish(partial);
      else finish(undefined, new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const parsed = parse(false);
      if (parsed !== 'more') finish(parsed);
    });
    socket.on('error', () => {
      const parsed = parse(true);
      finish(parsed === 'more' ? undefined : parsed);
    });
    socket.on('close', () => {
      const parsed = parse(true);
      finish(parsed === 'more' ? undefined : parsed);
    });
    socket.write(requestBytes(request));
  });
}
