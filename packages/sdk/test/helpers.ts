import { API_KEY, BASE_URL, problem as problemResponse } from '../../testkit/src/index.js';
import { type ClientOptions, Fleece } from '../src/index.js';

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

/**
 * The kit's problem response with a request id in the body (`req_from_body`) and another in the
 * `X-Request-Id` header (`req_from_header`), so the SDK's tests see which one a client reports.
 */
export function problem(
  status: number,
  code: string,
  extras: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return problemResponse(
    status,
    code,
    { requestId: 'req_from_body', ...extras },
    { 'x-request-id': 'req_from_header', ...headers },
  );
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
