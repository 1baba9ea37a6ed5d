import { describe, expect, it } from 'vitest';
import { ProviderError, retryAfterMs } from '../../src/modules/ai/providers/errors.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, retryDelay } from '../../src/modules/ai/providers/retry.js';
import { type Attempt, createProviderStream } from '../../src/modules/ai/providers/stream.js';
import { drain, instantRetries } from './helpers.js';

const classify = () => new ProviderError('provider_error', 'openai');

/** An attempt that yields `deltas` then fails with `code`, or finishes when `code` is undefined. */
function scripted(deltas: string[], code?: ProviderError['code']): Attempt {
  return async function* ({ touch }) {
    touch();
    for (const delta of deltas) yield delta;
    if (code)
      throw new ProviderError(code, 'openai', { status: code === 'provider_rate_limited' ? 429 : 503 });
    return { model: 'm', usage: { inputTokens: 1, outputTokens: deltas.length }, finishReason: 'stop' };
  };
}

describe('retry policy', () => {
  it('backs off exponentially with equal jitter, capped', () => {
    const policy = DEFAULT_RETRY_POLICY;
    expect([0, 1, 2, 3, 4].map((r) => backoffDelay(r, policy, () => 0))).toEqual([
      250, 500, 1000, 2000, 2000,
    ]);
    expect([0, 1, 2, 3, 4].map((r) => backoffDelay(r, policy, () => 0.999999))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ]);
  });

  it('retries only retryable codes, before any output, within the attempts and the budget', () => {
    const unavailable = new ProviderError('provider_unavailable', 'openai');
    const at = (attempts: number, elapsedMs = 0, streamed = false) => ({ attempts, elapsedMs, streamed });
    expect(retryDelay(unavailable, at(1), DEFAULT_RETRY_POLICY, () => 0)).toBe(250);
    expect(retryDelay(unavailable, at(2), DEFAULT_RETRY_POLICY, () => 0)).toBe(500);
    expect(retryDelay(unavailable, at(3), DEFAULT_RETRY_POLICY, () => 0)).toBeNull();
    expect(retryDelay(unavailable, at(1, 0, true), DEFAULT_RETRY_POLICY)).toBeNull();
    expect(retryDelay(unavailable, at(1, 14_800), DEFAULT_RETRY_POLICY, () => 0)).toBeNull();
    expect(retryDelay(new ProviderError('provider_error', 'openai'), at(1), DEFAULT_RETRY_POLICY)).toBeNull();
    expect(
      retryDelay(new ProviderError('provider_cancelled', 'openai'), at(1), DEFAULT_RETRY_POLICY),
    ).toBeNull();
    const limited = new ProviderError('provider_rate_limited', 'openai', {
      status: 429,
      retryAfterMs: 7_000,
    });
    expect(retryDelay(limited, at(1), DEFAULT_RETRY_POLICY)).toBe(7_000);
    expect(retryDelay(limited, at(1, 9_000), DEFAULT_RETRY_POLICY)).toBeNull();
  });

  it('reads retry-after-ms, retry-after in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), now)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('provider stream engine', () => {
  it('retries before the first delta and reports the attempts', async () => {
    let calls = 0;
    const retries = instantRetries();
    const stream = createProviderStream(
      (context) => (++calls < 3 ? scripted([], 'provider_unavailable') : scripted(['a', 'b']))(context),
      { provider: 'openai', idleTimeoutMs: 1_000, classify, ...retries },
    );
    expect((await drain(stream)).deltas).toEqual(['a', 'b']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'ab', attempts: 3 });
    expect(retries.delays).toEqual([375, 750]);
  });

  it('never retries once a delta was streamed, so no output is duplicated', async () => {
    let calls = 0;
    const retries = instantRetries();
    const stream = createProviderStream(
      (context) => {
        calls++;
        return scripted(['a'], 'provider_unavailable')(context);
      },
      { provider: 'openai', idleTimeoutMs: 1_000, classify, ...retries },
    );
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['a']);
    expect(error).toMatchObject({ code: 'provider_unavailable', attempts: 1 });
    expect(calls).toBe(1);
  });

  it('reports each retry in safe fields only', async () => {
    const events: unknown[] = [];
    let calls = 0;
    const stream = createProviderStream(
      (context) => (++calls === 1 ? scripted([], 'provider_rate_limited') : scripted(['ok']))(context),
      {
        provider: 'openai',
        idleTimeoutMs: 1_000,
        classify,
        ...instantRetries(),
        onRetry: (e) => events.push(e),
      },
    );
    await stream.result();
    expect(events).toEqual([
      { provider: 'openai', attempt: 1, code: 'provider_rate_limited', status: 429, delayMs: 375 },
    ]);
  });

  it('classifies what an attempt throws through the adapter', async () => {
    const stream = createProviderStream(
      // biome-ignore lint/correctness/useYield: the attempt fails before yielding.
      async function* () {
        throw new Error('unexpected');
      },
      { provider: 'openai', idleTimeoutMs: 1_000, classify, ...instantRetries() },
    );
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_error', attempts: 1 });
  });

  it('cancels a backoff wait when the signal aborts', async () => {
    const controller = new AbortController();
    const stream = createProviderStream(scripted([], 'provider_unavailable'), {
      provider: 'openai',
      idleTimeoutMs: 1_000,
      classify,
      signal: controller.signal,
      sleep: (_ms, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          controller.abort();
        }),
    });
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 1 });
  });

  it('does not count the time the consumer holds a delta as upstream silence', async () => {
    const stream = createProviderStream(
      async function* ({ touch }) {
        touch();
        yield 'a';
        touch();
        yield 'b';
        return { model: 'm', usage: { inputTokens: 1, outputTokens: 2 }, finishReason: 'stop' };
      },
      { provider: 'openai', idleTimeoutMs: 20, classify },
    );
    const deltas: string[] = [];
    for await (const delta of stream) {
      deltas.push(delta);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(deltas).toEqual(['a', 'b']);
  });
});
