import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drain, instantRetries, sseResponse, untilAborted } from './helpers.js';
import { anthropic, MESSAGES, openai } from './wires.js';

// What every HTTP provider adapter does the same way (streaming, retries, timeouts, cancellation), run
// against each provider's wire format; the format's own details are in openai.test.ts and
// anthropic.test.ts.
describe.each([openai, anthropic])('$name adapter (SSE, mocked with msw)', (wire) => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  const options = { model: wire.model };
  const failure = (status: number, message: string) =>
    HttpResponse.json(wire.errorBody(message) as object, { status });

  it('streams the deltas in order and ends with usage, finish reason and model', async () => {
    let seen: { headers: Headers; body: Record<string, unknown> } | undefined;
    server.use(
      http.post(wire.url, async ({ request }) => {
        seen = { headers: request.headers, body: (await request.clone().json()) as Record<string, unknown> };
        return sseResponse(wire.happyStream(), request);
      }),
    );
    const stream = wire.provider().stream(MESSAGES, { ...options, ...wire.happyOptions });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toEqual(wire.happyResult);
    wire.expectHappyRequest(seen!.headers, seen!.body);
  });

  it('fails with provider_unavailable on an error event mid-stream, after the deltas before it, without retrying', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, ({ request }) => {
        calls++;
        return sseResponse([...wire.opening, wire.delta('Hel'), wire.delta('lo'), wire.errorEvent], request);
      }),
    );
    const retries = instantRetries();
    const stream = wire.provider(retries).stream(MESSAGES, options);
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(error).toMatchObject({ code: 'provider_unavailable', provider: wire.name, attempts: 1 });
    expect(error?.message).toBe(`The ${wire.name} provider is unavailable [provider_unavailable]`);
    expect(calls).toBe(1);
    expect(retries.delays).toEqual([]);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_unavailable', attempts: 1 });
  });

  it('fails with provider_unavailable when the connection drops before the finish reason', async () => {
    server.use(
      http.post(wire.url, ({ request }) =>
        sseResponse([...wire.opening, wire.delta('Hel'), 'reset'], request),
      ),
    );
    const { deltas, error } = await drain(wire.provider().stream(MESSAGES, options));
    expect(deltas).toEqual(['Hel']);
    expect(error?.code).toBe('provider_unavailable');
  });

  it('fails with provider_unavailable when the stream closes cleanly before the finish reason', async () => {
    server.use(
      http.post(wire.url, ({ request }) =>
        sseResponse([...wire.opening, wire.delta('Hel'), ...wire.unfinished], request),
      ),
    );
    const { deltas, error } = await drain(wire.provider().stream(MESSAGES, options));
    expect(deltas).toEqual(['Hel']);
    expect(error?.code).toBe('provider_unavailable');
  });

  it('fires the idle timeout on a stalled stream and aborts the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(wire.url, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([...wire.opening, wire.delta('Hel'), 'stall'], request);
      }),
    );
    const started = performance.now();
    const { deltas, error } = await drain(
      wire.provider().stream(MESSAGES, { ...options, idleTimeoutMs: 200 }),
    );
    expect(deltas).toEqual(['Hel']);
    expect(error).toMatchObject({ code: 'provider_idle_timeout', attempts: 1 });
    expect(performance.now() - started).toBeLessThan(2_000);
    await upstreamAborted;
  });

  it('retries a stall before the first delta, then succeeds', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, ({ request }) => {
        calls++;
        return sseResponse(calls === 1 ? [...wire.opening, 'stall'] : wire.happyStream(), request);
      }),
    );
    const retries = instantRetries();
    const stream = wire.provider({ ...retries, idleTimeoutMs: 200 }).stream(MESSAGES, options);
    const { deltas } = await drain(stream);
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'Hello, Ada!', attempts: 2 });
    expect(retries.delays).toEqual([375]);
  });

  it('retries a transient refusal and then succeeds, without duplicating any text', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, ({ request }) => {
        calls++;
        return calls === 1 ? wire.transient.response() : sseResponse(wire.happyStream(), request);
      }),
    );
    const retries = instantRetries();
    const stream = wire.provider(retries).stream(MESSAGES, options);
    const { deltas } = await drain(stream);
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'Hello, Ada!', attempts: 2 });
    expect(calls).toBe(2);
    expect(retries.delays).toEqual(wire.transient.delays);
  });

  it('gives up with provider_unavailable (HTTP 500) once the attempts are spent, saying nothing of the body', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, () => {
        calls++;
        return failure(500, 'internal detail sk-secret');
      }),
    );
    const retries = instantRetries();
    const { deltas, error } = await drain(wire.provider(retries).stream(MESSAGES, options));
    expect(deltas).toEqual([]);
    expect(calls).toBe(3);
    expect(retries.delays).toEqual([375, 750]);
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 500, attempts: 3 });
    expect(error?.message).toBe(`The ${wire.name} provider is unavailable (HTTP 500) [provider_unavailable]`);
    expect(JSON.stringify(error)).not.toContain('internal detail');
    expect(error?.cause).toBeUndefined();
  });

  it('stops retrying when the next wait would overrun the budget', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, () => {
        calls++;
        return new HttpResponse(null, { status: 503, headers: { 'retry-after': '60' } });
      }),
    );
    const retries = instantRetries();
    const { error } = await drain(wire.provider(retries).stream(MESSAGES, options));
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 503, attempts: 1 });
    expect(calls).toBe(1);
    expect(retries.delays).toEqual([]);
  });

  it('does not retry a refused key (401): provider_error', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, () => {
        calls++;
        return failure(401, 'Incorrect API key provided: sk-test-***');
      }),
    );
    const { error } = await drain(wire.provider(instantRetries()).stream(MESSAGES, options));
    expect(error).toMatchObject({ code: 'provider_error', status: 401, attempts: 1 });
    expect(calls).toBe(1);
  });

  it('times out an attempt whose headers do not arrive, and retries it', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, async ({ request }) => {
        calls++;
        await untilAborted(request.signal);
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const retries = instantRetries({ maxAttempts: 2 });
    const { error } = await drain(wire.provider({ ...retries, timeoutMs: 50 }).stream(MESSAGES, options));
    expect(error).toMatchObject({ code: 'provider_timeout', attempts: 2 });
    expect(calls).toBe(2);
  });

  it('cancels promptly when the signal aborts mid-stream, aborting the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(wire.url, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([...wire.opening, wire.delta('Hel'), 'stall'], request);
      }),
    );
    const controller = new AbortController();
    const stream = wire.provider().stream(MESSAGES, { ...options, signal: controller.signal });
    const deltas: string[] = [];
    const started = performance.now();
    const outcome = await (async () => {
      try {
        for await (const delta of stream) {
          deltas.push(delta);
          setTimeout(() => controller.abort(), 10);
        }
      } catch (error) {
        return error;
      }
    })();
    expect(deltas).toEqual(['Hel']);
    expect(outcome).toMatchObject({ code: 'provider_cancelled', provider: wire.name });
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
    await upstreamAborted;
  });

  it('cancels when the signal aborts inside the loop that reads a delta', async () => {
    server.use(
      http.post(wire.url, ({ request }) =>
        sseResponse([...wire.opening, wire.delta('Hel'), 'stall'], request),
      ),
    );
    const controller = new AbortController();
    const stream = wire.provider().stream(MESSAGES, { ...options, signal: controller.signal });
    const deltas: string[] = [];
    const outcome = await (async () => {
      try {
        for await (const delta of stream) {
          deltas.push(delta);
          controller.abort();
        }
      } catch (error) {
        return error;
      }
    })();
    expect(deltas).toEqual(['Hel']);
    expect(outcome).toMatchObject({ code: 'provider_cancelled', provider: wire.name });
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
  });

  it('cancels promptly while waiting for the response headers', async () => {
    server.use(
      http.post(wire.url, async ({ request }) => {
        await untilAborted(request.signal);
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const controller = new AbortController();
    const stream = wire.provider().stream(MESSAGES, { ...options, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 1 });
  });

  it('does not call the provider at all when the signal is already aborted', async () => {
    let calls = 0;
    server.use(
      http.post(wire.url, () => {
        calls++;
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const stream = wire.provider().stream(MESSAGES, { ...options, signal: AbortSignal.abort() });
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 0 });
    expect(calls).toBe(0);
  });

  it('cancels the upstream request when the consumer stops reading', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(wire.url, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([...wire.opening, wire.delta('Hel'), wire.delta('lo'), 'stall'], request);
      }),
    );
    const stream = wire.provider().stream(MESSAGES, options);
    for await (const delta of stream) {
      expect(delta).toBe('Hel');
      break;
    }
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
    await upstreamAborted;
  });
});
