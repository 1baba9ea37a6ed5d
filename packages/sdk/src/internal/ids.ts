import { randomBytes, randomUUID } from 'node:crypto';

/**
 * A fresh request id: `req_` and 24 hex characters, the same form the server mints. The server keeps a
 * safe incoming `X-Request-Id`, so the id in an SDK error matches the server's log line even when the
 * connection failed before any response.
 */
export function newRequestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

/** A fresh idempotency key (a random UUID v4). */
export function newIdempotencyKey(): string {
  return randomUUID();
}
