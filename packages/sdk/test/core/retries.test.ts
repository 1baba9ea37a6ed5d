import { HttpResponse, http } from 'msw';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  driveClock,
  observeSleeps,
  readBody,
  restoreClockAfterEach,
  startServer,
  until,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import {
  backoffDelay,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelay,
  shouldRetry,
} from '../../src/core/retries.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  Fleece,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  type RateLimitEvent,
} from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

describe('retry policy', () => {
  it('retries 408, 409, 429 and 5xx only', () => {
    const retryable = [400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504].filter(isRetryableStatus);
    expect(retryable).toEqual([408, 409, 429, 500, 502, 503, 504]);
  });

  it('backs off 0.5 s × 2ⁿ capped at 8 s, times a jitter factor between 0.75 and 1', () => {
    const none = () => 0;
    const most = () => 0.999_999_999;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, none))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(backoffDelay(0, () => 0.5)).toBe(437.5);
    expect(backoffDelay(4, most)).toBeCloseTo(6000, 3);
  });

  it('parses Retry-After as delay-seconds or an HTTP-date, in milliseconds', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('reads retry-after-ms before Retry-After, and x-should-retry both ways', () => {
    expect(retryDelay(new Headers({ 'retry-after-ms': '20', 'retry-after': '5' }), 0)).toBe(20);
    expect(retryDelay(new Headers({ 'retry-after-ms': '-1', 'retry-after': '5' }), 0)).toBe(5000);
    expect(shouldRetry(400, new Headers({ 'x-should-retry': 'true' }))).toBe(true);
    expect(shouldRetry(500, new Headers({ 'x-should-retry': 'FALSE' }))).toBe(false);
    expect(shouldRetry(500, new Headers({ 'x-should-retry': 'maybe' }))).toBe(true);
    expect(shouldRetry(404, new Headers())).toBe(false);
  });

  it('refuses to wait for a Retry-After beyond the 60 s cap', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(60_000);
    expect(retryDelay(new Headers({ 'retry-after': '60' }), 0)).toBe(60_000);
    expect(retryDelay(new Headers({ 'retry-after': '61' }), 0)).toBeNull();
  });
});

describe('retries against msw (fake timers)', () => {
  const server = useMsw();
  restoreClockAfterEach();

  let sleeps: ReturnType<typeof observeSleeps>;
  let start: number;
  beforeEach(() => {
    useFakeClock();
    sleeps = observeSleeps();
    start = Date.now();
  });

  /** Answers `method path` with each response in turn, recording when (ms since start) and what arrived. */
  function sequence(method: 'get' | 'post', path: string, responses: Array<() => Response>) {
    const calls: Array<{ at: number; headers: Headers; body: string }> = [];
    server.use(
      http[method](`${BASE_URL}${path}`, async ({ request }) => {
        calls.push({ at: Date.now() - start, headers: request.headers, body: await request.text() });
        const next = responses[Math.min(calls.length, responses.length) - 1] as () => Response;
        return next();
      }),
    );
    return calls;
  }

  it('retries a 503 twice with 0.5 s and 1 s of backoff, then throws', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const calls = sequence('get', '/api/v1/thing', [() => problem(503, 'service_unavailable')]);
    const error = await driveClock(mswClient().get('/api/v1/thing'), sleeps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(calls.map((c) => c.at)).toEqual([0, 500, 1500]);
    expect(sleeps.delays).toEqual([500, 1000]);
  });

  it('applies the smallest jitter factor (0.75) and the 8 s cap', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999_999_999);
    const calls = sequence('get', '/api/v1/thing', [() => problem(500, 'internal_error')]);
    const error = await driveClock(mswClient({ maxRetries: 6 }).get('/api/v1/thing'), sleeps).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InternalServerError);
    expect(sleeps.delays.map((d) => Math.round(d))).toEqual([375, 750, 1500, 3000, 6000, 6000]);
    expect(calls).toHaveLength(7);
  });

  it('succeeds on the retry after a 429 with Retry-After in seconds, waiting exactly that long', async () => {
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '3' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    await expect(driveClock(mswClient().get('/api/v1/thing'), sleeps)).resolves.toEqual({ ok: true });
    expect(calls.map((c) => c.at)).toEqual([0, 3000]);
    expect(sleeps.delays).toEqual([3000]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    start = Date.now();
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(503, 'service_unavailable', {}, { 'retry-after': 'Tue, 01 Jan 2030 00:00:07 GMT' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    await expect(driveClock(mswClient().get('/api/v1/thing'), sleeps)).resolves.toEqual({ ok: true });
    expect(sleeps.delays).toEqual([7000]);
    expect(calls.map((c) => c.at)).toEqual([0, 7000]);
  });

  it('does not wait for a Retry-After longer than 60 s: the RateLimitError is thrown at once', async () => {
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '3600' }),
    ]);
    const error = await driveClock(mswClient().get('/api/v1/thing'), sleeps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfter).toBe(3600);
    expect(calls).toHaveLength(1);
    expect(sleeps.delays).toEqual([]);
  });

  it('regression: retry-after-ms wins over Retry-After, waiting exactly that many milliseconds', async () => {
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(429, 'rate_limited', {}, { 'retry-after-ms': '1250.5', 'retry-after': '30' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    await expect(driveClock(mswClient().get('/api/v1/thing'), sleeps)).resolves.toEqual({ ok: true });
    expect(sleeps.delays).toEqual([1250.5]);
    expect(calls).toHaveLength(2);
  });

  it('regression: a malformed retry-after-ms falls back to Retry-After; one beyond the cap is not waited for', async () => {
    sequence('get', '/api/v1/thing', [
      () => problem(503, 'service_unavailable', {}, { 'retry-after-ms': 'soon', 'retry-after': '2' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    await driveClock(mswClient().get('/api/v1/thing'), sleeps);
    expect(sleeps.delays).toEqual([2000]);
    const calls = sequence('get', '/api/v1/other', [
      () => problem(429, 'rate_limited', {}, { 'retry-after-ms': '90000', 'retry-after': '1' }),
    ]);
    const error = await driveClock(mswClient().get('/api/v1/other'), sleeps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfter).toBe(90);
    expect(calls).toHaveLength(1);
  });

  it('regression: x-should-retry: true retries a status that is not retried otherwise', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(400, 'bad_request', {}, { 'x-should-retry': 'true' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    await expect(driveClock(mswClient().get('/api/v1/thing'), sleeps)).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(sleeps.delays).toEqual([500]);
  });

  it('regression: x-should-retry: false forbids retrying a 503 or a 429', async () => {
    for (const [status, code] of [
      [503, 'service_unavailable'],
      [429, 'rate_limited'],
    ] as const) {
      const calls = sequence('get', `/api/v1/${status}`, [
        () => problem(status, code, {}, { 'x-should-retry': 'false', 'retry-after': '1' }),
        () => HttpResponse.json({ ok: true }),
      ]);
      const error = await driveClock(mswClient().get(`/api/v1/${status}`), sleeps).catch((e: unknown) => e);
      expect((error as { status: number }).status).toBe(status);
      expect(calls).toHaveLength(1);
    }
    expect(sleeps.delays).toEqual([]);
  });

  it('does not retry a 404', async () => {
    const calls = sequence('get', '/api/v1/thing', [() => problem(404, 'not_found')]);
    const error = await driveClock(mswClient().get('/api/v1/thing'), sleeps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(calls).toHaveLength(1);
  });

  it('retries connection errors with backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const calls = sequence('get', '/api/v1/thing', [
      () => HttpResponse.error(),
      () => HttpResponse.json([1]),
    ]);
    await expect(driveClock(mswClient().get('/api/v1/thing'), sleeps)).resolves.toEqual([1]);
    expect(calls.map((c) => c.at)).toEqual([0, 500]);
  });

  it('sends the same Idempotency-Key on every retry of a POST, and a new one per call', async () => {
    const calls = sequence('post', '/api/v1/agents', [
      () => problem(500, 'internal_error'),
      () => problem(409, 'conflict'),
      () => HttpResponse.json({ id: 'agt_1' }, { status: 201 }),
    ]);
    const client = mswClient();
    await expect(driveClock(client.post('/api/v1/agents', { body: { name: 'a' } }), sleeps)).resolves.toEqual(
      {
        id: 'agt_1',
      },
    );
    const keys = calls.map((c) => c.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys).toEqual([keys[0], keys[0], keys[0]]);
    expect(calls.map((c) => c.body)).toEqual(['{"name":"a"}', '{"name":"a"}', '{"name":"a"}']);
    // Each attempt is its own request for the server's logs.
    const requestIds = new Set(calls.map((c) => c.headers.get('x-request-id')));
    expect(requestIds.size).toBe(3);

    await driveClock(client.post('/api/v1/agents', { body: { name: 'b' } }), sleeps);
    expect(calls[3]?.headers.get('idempotency-key')).not.toBe(keys[0]);
  });

  it('lets a caller-supplied Idempotency-Key win, from the option or a header', async () => {
    const calls = sequence('post', '/api/v1/agents', [
      () => problem(502, 'bad_gateway'),
      () => HttpResponse.json({ id: 'agt_1' }),
    ]);
    const client = mswClient();
    await driveClock(client.post('/api/v1/agents', { body: {}, idempotencyKey: 'mine-1' }), sleeps);
    await driveClock(
      client.post('/api/v1/agents', { body: {}, headers: { 'Idempotency-Key': 'mine-2' } }),
      sleeps,
    );
    expect(calls.map((c) => c.headers.get('idempotency-key'))).toEqual(['mine-1', 'mine-1', 'mine-2']);
  });

  it('sends no Idempotency-Key on GET, PUT and DELETE', async () => {
    const seen: Array<string | null> = [];
    server.use(
      http.all(`${BASE_URL}/api/v1/thing`, ({ request }) => {
        seen.push(request.headers.get('idempotency-key'));
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const client = mswClient();
    await client.get('/api/v1/thing');
    await client.put('/api/v1/thing', { body: {} });
    await client.delete('/api/v1/thing');
    await client.patch('/api/v1/thing', { body: {} });
    expect(seen.slice(0, 3)).toEqual([null, null, null]);
    expect(seen[3]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('onRateLimit takes over the wait of a 429: told the error, route, retry and default wait; true retries at once', async () => {
    const calls = sequence('post', '/api/v1/agents/agt_1/execute', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '42', 'x-ratelimit-limit': '10' }),
      () => HttpResponse.json({ ok: true }),
    ]);
    const events: RateLimitEvent[] = [];
    const client = mswClient({
      onRateLimit: (event) => {
        events.push(event);
        return true;
      },
    });
    await expect(client.post('/api/v1/agents/agt_1/execute', { body: {} })).resolves.toEqual({ ok: true });
    expect(calls.map((c) => c.at)).toEqual([0, 0]);
    expect(sleeps.delays).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/agents/agt_1/execute',
      retry: 1,
      maxRetries: 2,
      defaultDelayMs: 42_000,
      signal: undefined,
    });
    expect(events[0]!.error).toBeInstanceOf(RateLimitError);
    expect(events[0]!.error.retryAfter).toBe(42);
    expect(events[0]!.error.headers.get('x-ratelimit-limit')).toBe('10');
    // Retries of one call keep their Idempotency-Key.
    expect(calls[1]!.headers.get('idempotency-key')).toBe(calls[0]!.headers.get('idempotency-key'));
  });

  it('onRateLimit: false throws the RateLimitError at once; a wait beyond the cap is handed over as null; other statuses keep the SDK rule', async () => {
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '3600' }),
    ]);
    const seen: Array<number | null> = [];
    const client = mswClient({
      onRateLimit: ({ defaultDelayMs }) => {
        seen.push(defaultDelayMs);
        return false;
      },
    });
    const error = await client.get('/api/v1/thing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(calls).toHaveLength(1);
    expect(seen).toEqual([null]);

    server.resetHandlers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const failing = sequence('get', '/api/v1/other', [() => problem(503, 'service_unavailable')]);
    const failure = await driveClock(client.get('/api/v1/other'), sleeps).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InternalServerError);
    expect(failing).toHaveLength(3);
    expect(seen).toEqual([null]);
  });

  it('onRateLimit counts against maxRetries, is not asked when x-should-retry: false, and an abort during it is APIUserAbortError', async () => {
    const calls = sequence('get', '/api/v1/thing', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '1' }),
    ]);
    let asked = 0;
    const always = mswClient({
      maxRetries: 1,
      onRateLimit: () => {
        asked++;
        return true;
      },
    });
    await expect(always.get('/api/v1/thing')).rejects.toBeInstanceOf(RateLimitError);
    expect(calls).toHaveLength(2);
    expect(asked).toBe(1);

    server.resetHandlers();
    sequence('get', '/api/v1/no', [
      () => problem(429, 'rate_limited', {}, { 'retry-after': '1', 'x-should-retry': 'false' }),
    ]);
    await expect(always.get('/api/v1/no')).rejects.toBeInstanceOf(RateLimitError);
    expect(asked).toBe(1);

    const controller = new AbortController();
    let waitingInHook = false;
    const waiting = mswClient({
      onRateLimit: ({ signal }) =>
        new Promise<boolean>((_, reject) => {
          waitingInHook = true;
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
    });
    server.resetHandlers();
    sequence('get', '/api/v1/thing', [() => problem(429, 'rate_limited', {}, { 'retry-after': '30' })]);
    const call = waiting.get('/api/v1/thing', { signal: controller.signal });
    const rejected = expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    await until(() => waitingInHook);
    controller.abort(new Error('stop'));
    await rejected;
  });

  it('stops waiting between retries when the signal aborts', async () => {
    sequence('get', '/api/v1/thing', [() => problem(503, 'service_unavailable')]);
    const controller = new AbortController();
    const call = mswClient().get('/api/v1/thing', { signal: controller.signal });
    await until(() => sleeps.pending === 1);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    expect(sleeps.delays).toHaveLength(1);
  });
});

describe('timeouts and stale sockets against a real server', () => {
  restoreClockAfterEach();

  it('times out a request after `timeout` ms with APIConnectionTimeoutError, retrying first', async () => {
    let requests = 0;
    const real = await startServer(() => {
      requests++; // never answers
    });
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const client = new Fleece({ baseURL: real.url, apiKey: 'flc_x', timeout: 5_000, maxRetries: 1 });
      const call = client.get('/api/v1/slow').catch((e: unknown) => e);
      await until(() => requests === 1);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(sleeps.delays).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await until(() => sleeps.pending === 1);
      expect(sleeps.delays).toEqual([500]);
      await vi.advanceTimersByTimeAsync(500);
      await until(() => requests === 2);
      await vi.advanceTimersByTimeAsync(5_000);
      const error = await call;
      expect(error).toBeInstanceOf(APIConnectionTimeoutError);
      expect((error as Error).message).toMatch(
        /^GET \/api\/v1\/slow timed out after 5000 ms \(request id req_[0-9a-f]{24}\)$/,
      );
    } finally {
      vi.useRealTimers();
      await real.close();
    }
  });

  it('keeps the timeout running until the whole body has arrived', async () => {
    let requests = 0;
    const real = await startServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_slowbody1' });
      res.write('{"partial":'); // …and the rest never comes
    });
    useFakeClock();
    try {
      const client = new Fleece({ baseURL: real.url, apiKey: 'flc_x', timeout: 5_000, maxRetries: 0 });
      let outcome: unknown;
      const call = client.get('/api/v1/thing').then(
        () => {
          outcome = 'resolved';
        },
        (error: unknown) => {
          outcome = error;
        },
      );
      await until(() => requests === 1);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await call;
      expect(outcome).toBeInstanceOf(APIConnectionTimeoutError);
      expect((outcome as Error).message).toBe(
        'GET /api/v1/thing timed out after 5000 ms (request id req_slowbody1)',
      );
    } finally {
      vi.useRealTimers();
      await real.close();
    }
  });

  it('retries a request once on a stale keep-alive socket even with maxRetries: 0', async () => {
    const seen: Array<{ key: string | undefined; body: string }> = [];
    const real = await startServer(async (req, res) => {
      seen.push({ key: req.headers['idempotency-key'] as string | undefined, body: await readBody(req) });
      if (seen.length === 1) {
        req.socket.destroy(); // the server drops the connection before answering
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"id":"exe_1"}');
    });
    try {
      const client = new Fleece({ baseURL: real.url, apiKey: 'flc_x', maxRetries: 0 });
      await expect(client.post('/api/v1/agents/agt_1/execute', { body: { input: 'hi' } })).resolves.toEqual({
        id: 'exe_1',
      });
      expect(seen).toHaveLength(2);
      expect(seen[0]?.body).toBe('{"input":"hi"}');
      expect(seen[1]).toEqual(seen[0]);
      expect(seen[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await real.close();
    }
  });

  it('retries a stale socket only once per call', async () => {
    let requests = 0;
    const real = await startServer((req) => {
      requests++;
      req.socket.destroy();
    });
    try {
      const client = new Fleece({ baseURL: real.url, apiKey: 'flc_x', maxRetries: 0 });
      const error = await client.get('/api/v1/thing').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIConnectionError);
      expect((error as Error).message).toMatch(/^Connection error: other side closed \[UND_ERR_SOCKET\]/);
      expect(requests).toBe(2);
    } finally {
      await real.close();
    }
  });
});
