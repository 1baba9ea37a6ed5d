import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';
import { type ClientOptions, Fleece } from '../src/index.js';
import { timers } from '../src/internal/timers.js';

/** The origin msw answers for; nothing listens there, so an unmocked request fails loudly. */
export const BASE_URL = 'http://fleece.test';

/** An API key that looks real enough. */
export const API_KEY = 'flc_test_0123456789';

/**
 * A client that sends through the global `fetch`, which msw intercepts. (msw v3 patches
 * `globalThis.fetch` and node:http; undici's own `fetch` and `request`, the client's default, go
 * around it, so tests of real HTTP behaviour use real local servers instead.)
 */
export function mswClient(options: ClientOptions = {}): Fleece {
  return new Fleece({
    baseURL: BASE_URL,
    apiKey: API_KEY,
    fetch: (input, init) => globalThis.fetch(input, init),
    ...options,
  });
}

/** An RFC 9457 problem response, as the server sends it. */
export function problem(
  status: number,
  code: string,
  extras: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({
      type: `https://fleece.dev/problems/${code}`,
      title: http.STATUS_CODES[status],
      status,
      code,
      requestId: 'req_from_body',
      ...extras,
    }),
    {
      status,
      headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req_from_header', ...headers },
    },
  );
}

/** A valid `HealthResponse` body. */
export function healthBody(status: 'ok' | 'degraded' | 'down' = 'ok') {
  return {
    service: 'fleece' as const,
    status,
    version: '0.1.0',
    uptimeSeconds: 12,
    checks: {
      database: { status, latencyMs: status === 'down' ? null : 1.5 },
      migrations: { status: 'ok', applied: 3, pending: 0 },
    },
  };
}

/** Fake timers for the waits under test; real I/O keeps running (setImmediate and nextTick stay real). */
export function useFakeClock(): void {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
}

/** Records every wait the client makes (`timers.sleep`), in milliseconds, and how many are in progress. */
export function observeSleeps(): { delays: number[]; readonly pending: number } {
  const delays: number[] = [];
  let pending = 0;
  const sleep = timers.sleep;
  vi.spyOn(timers, 'sleep').mockImplementation(async (ms, signal) => {
    delays.push(ms);
    pending++;
    try {
      await sleep(ms, signal);
    } finally {
      pending--;
    }
  });
  return {
    delays,
    get pending() {
      return pending;
    },
  };
}

/**
 * Waits in real time (polling on `setImmediate`, which the fake clock leaves alone) until `condition`
 * holds. Unlike `vi.waitFor`, it never moves fake time, so timings stay exact.
 */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n;
  while (!condition()) {
    if (process.hrtime.bigint() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Drives fake time until `promise` settles: whenever the client is waiting (a `timers.sleep` is in
 * progress), fires the next timer; meanwhile real I/O runs. Returns the promise.
 */
export async function runClock<T>(promise: Promise<T>, sleeps: { readonly pending: number }): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await until(() => settled || sleeps.pending > 0);
    if (!settled) await vi.advanceTimersToNextTimerAsync();
  }
  return promise;
}

/**
 * Watches `promise` without awaiting it: `outcome` is `undefined` while it is pending, then `'resolved'`
 * or the rejection's error; `settled` resolves once it has settled (never rejects).
 */
export function watch(promise: Promise<unknown>): { readonly outcome: unknown; settled: Promise<void> } {
  let outcome: unknown;
  const settled = promise.then(
    () => {
      outcome = 'resolved';
    },
    (error: unknown) => {
      outcome = error;
    },
  );
  return {
    get outcome() {
      return outcome;
    },
    settled,
  };
}

/** A real HTTP server on 127.0.0.1 and an ephemeral port. */
export interface TestServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts a real node:http server on 127.0.0.1 (port 0) with `handler`. */
export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a request body as text. */
export async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}
