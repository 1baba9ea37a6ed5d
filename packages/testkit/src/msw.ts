import { HttpResponse, http, type RequestHandler } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** The origin msw answers for; nothing listens there, so a request no handler matches fails loudly. */
export const BASE_URL = 'http://fleece.test';

/** An API key that looks real enough (`flc_` prefix). */
export const API_KEY = 'flc_test_0123456789';

/**
 * An msw server for one test file: registers `beforeAll` (listen, failing on any unhandled request),
 * `afterEach` (drop the handlers a test added with `server.use`) and `afterAll` (close). `handlers` stay
 * installed for the whole file.
 *
 * msw intercepts `globalThis.fetch` and node:http only; the SDK's default transport (undici's own `fetch`)
 * goes around it, so the clients under test send through the global `fetch`.
 */
export function useMsw(...handlers: RequestHandler[]): SetupServer {
  const server = setupServer(...handlers);
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

/**
 * The execution endpoints over one `execution`: `GET /api/v1/executions` answers a single page holding
 * it (and hands the query string, `?…` or empty, to `onList`), `GET /api/v1/executions/:id` answers it,
 * `POST /api/v1/executions/:id/cancel` answers it with status `cancelled`.
 */
export function executionHandlers(
  execution: Record<string, unknown>,
  onList: (search: string) => void = () => {},
): RequestHandler[] {
  return [
    http.get(`${BASE_URL}/api/v1/executions`, ({ request }) => {
      onList(new URL(request.url).search);
      return HttpResponse.json({ data: [execution], nextCursor: null });
    }),
    http.get(`${BASE_URL}/api/v1/executions/:id`, () => HttpResponse.json(execution)),
    http.post(`${BASE_URL}/api/v1/executions/:id/cancel`, () =>
      HttpResponse.json({ ...execution, status: 'cancelled' }),
    ),
  ];
}
