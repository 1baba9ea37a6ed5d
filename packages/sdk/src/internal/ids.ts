import { randomUUID } from 'node:crypto';

/**
 * A fresh request id: `req_` and 24 hex characters, the same form the server mints. The server keeps a
 * safe incoming `X-Request-Id`, so the id in an SDK error matches the server's log line even when the
 * connection failed before any response.
 */
export function newRequestId(): string {
  // A random per-process prefix and a counter: unique without drawing randomness per request, which was
  // a measurable part of a call's own cost (bench/sdk.bench.ts). Request ids only correlate logs; they
  // guard nothing.
  requestCounter = (requestCounter + 1) % COUNTER_LIMIT;
  return `req_${REQUEST_ID_PREFIX}${requestCounter.toString(16).padStart(12, '0')}`;
}

/** 12 random hex characters, fixed for the process. */
const REQUEST_ID_PREFIX = randomUUID().replaceAll('-', '').slice(0, 12);
/** 16¹²: the counter's range. */
const COUNTER_LIMIT = 2 ** 48;
let requestCounter = Math.floor(Math.random() * 2 ** 32);

/** A fresh idempotency key (a random UUID v4). */
export function newIdempotencyKey(): string {
  return randomUUID();
}
