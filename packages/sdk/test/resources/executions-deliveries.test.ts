import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { NotFoundError, type WebhookDelivery } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

function attempt(n: number): WebhookDelivery {
  return {
    id: `whd_${String(n).padStart(24, '0')}`,
    eventId: 'whe_0123456789abcdefghijklmn',
    eventType: 'flow.run.completed',
    executionId: 'exe_0123456789abcdefghijklmn',
    url: 'https://hooks.example.com/fleece',
    attempt: n,
    outcome: n === 3 ? 'succeeded' : 'failed',
    status: n === 3 ? 200 : 500,
    errorCode: n === 3 ? null : 'http_error',
    responseExcerpt: null,
    durationMs: 12,
    attemptedAt: '2026-01-01T00:00:00.000Z',
    nextAttemptAt: null,
  };
}

describe('client.executions.deliveries', () => {
  it('pages through the attempts, newest first', async () => {
    const queries: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/executions/exe_0123456789abcdefghijklmn/deliveries`, ({ request }) => {
        const url = new URL(request.url);
        queries.push(url.search);
        return url.searchParams.get('cursor') === 'c2'
          ? HttpResponse.json({ data: [attempt(1)], nextCursor: null })
          : HttpResponse.json({ data: [attempt(3), attempt(2)], nextCursor: 'c2' });
      }),
    );
    const seen: number[] = [];
    for await (const d of mswClient().executions.deliveries('exe_0123456789abcdefghijklmn', { limit: 2 })) {
      seen.push(d.attempt);
    }
    expect(seen).toEqual([3, 2, 1]);
    expect(queries).toEqual(['?limit=2', '?limit=2&cursor=c2']);
  });

  it('rejects with NotFoundError for an execution that is not yours', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/executions/exe_missing/deliveries`, () =>
        problem(404, 'not_found', { detail: 'No such execution.' }),
      ),
    );
    await expect(mswClient().executions.deliveries('exe_missing')).rejects.toBeInstanceOf(NotFoundError);
  });
});
