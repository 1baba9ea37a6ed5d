import { readableResponse } from '../internal/response.js';

/**
 * A `fetch` made of `node:http` / `node:https` alone (Node's default keep-alive agents), to pass as the
 * client's `fetch` in short-lived processes: loading undici (the SDK's default transport, or the one inside
 * Node's built-in `fetch`) costs more of a CLI command's start-up than its request. It connects directly:
 * it honours no proxy variable (keep the default transport, or pass a `dispatcher`, behind a proxy), and it
 * follows no redirects. Its responses implement the part of `Response` the SDK reads (`status`, `ok`,
 * `headers`, `text()`, `json()`, `arrayBuffer()`, `body`).
 *
 * @throws the `node:http` error (with its `code`, such as `ECONNREFUSED`) when the request fails, and an
 *   `AbortError` when `init.signal` aborts.
 * @example
 * import { Fleece, nodeFetch } from '@fleece/sdk';
 * const client = new Fleece({ apiKey: process.env.FLEECE_API_KEY, fetch: nodeFetch });
 */
export async function nodeFetch(input: string, init: RequestInit): Promise<Response> {
  const url = new URL(input);
  // The module object itself: an ESM `import('node:http')` evaluates every export for its namespace,
  // including the lazy `WebSocket` getter, which loads Node's bundled undici, the cost this avoids.
  const { request } = process.getBuiltinModule(
    url.protocol === 'https:' ? 'node:https' : 'node:http',
  ) as typeof import('node:http');
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string>,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (message) =>
        resolve(
          readableResponse(
            input,
            message.statusCode ?? 0,
            message.statusMessage ?? '',
            message.headers,
            message,
          ),
        ),
    );
    req.on('error', reject);
    req.end(init.body as string | undefined);
  });
}
