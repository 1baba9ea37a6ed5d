import { randomUUID } from 'node:crypto';

/**
 * A fresh request id: `req_` and 24 hex characters, the same form the server mints. The server keeps a
 * safe incoming `X-Request-Id`, so the id in an SDK error matches the server's log line even when the
 * connection failed before any response.
 */
export function newRequestId(): string {
  // Random hex from a UUID v4, which Node draws from a cached entropy pool: a `randomBytes()` call per
  // request was the largest single cost of a call on a local server (bench/sdk.bench.ts). The 24
  // characters keep 94 random bits (the UUID's version digit is skipped).
  const uuid = randomUUID();
  return `req_${uuid.slice(0, 8)}${uuid.slice(9, 13)}${uuid.slice(15, 18)}${uuid.slice(19, 23)}${uuid.slice(24, 29)}`;
}

/** A fresh idempotency key (a random UUID v4). */
export function newIdempotencyKey(): string {
  return randomUUID();
}
