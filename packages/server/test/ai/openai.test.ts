import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OPENAI_API_URL, OpenAIProvider } from '../../src/modules/ai/providers/openai.js';
import type { HttpProviderOptions } from '../../src/modules/ai/providers/stream.js';
import { type BodyStep, drain, instantRetries, sseResponse, untilAborted } from './helpers.js';

const URL = `${OPENAI_API_URL}/chat/completions`;
const KEY = 'sk-test-openai-0123456789';
const MESSAGES = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to Ada.' },
];

/** The fields every chunk of one completion shares, as OpenAI sends them. */
const BASE = {
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion.chunk',
  created: 1767225600,
  model: 'gpt-4o-mini-2024-07-18',
  service_tier: 'default',
  system_fingerprint: 'fp_0ba0d124f1',
};

/** One `data:` event of a content chunk (`usage: null` on every chunk but the last, with include_usage). */
function chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  return `data: ${JSON.stringify({
    ...BASE,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  })}\n\n`;
}

/** The usage chunk sent before `[DONE]` when `stream_options.include_usage` is set: empty `choices`. */
function usageChunk(prompt: number, completion: number): string {
  return `data: ${JSON.stringify({
    ...BASE,
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  })}\n\n`;
}

const DONE = 'data: [DONE]\n\n';

/** A whole successful stream: role chunk, three content chunks (one split across two reads), stop, usage. */
function happyStream(): BodyStep[] {
  const hello = chunk({ content: 'Hello' });
  return [
    chunk({ role: 'assistant', content: '', refusal: null }),
    hello.slice(0, 40),
    hello.slice(40),
    chunk({ content: ', Ada' }),
    chunk({ content: '!' }),
    chunk({}, 'stop'),
    usageChunk(24, 4),
    DONE,
  ];
}

function provider(options: Partial<HttpProviderOptions> = {}) {
  return new OpenAIProvider({
    apiKey: KEY,
    baseURL: OPENAI_API_URL,
    timeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    ...options,
  });
}

describe('OpenAI adapter (Chat Completions SSE, mocked with msw)', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('streams the deltas in order and ends with usage, finish reason and model; sends store: false', async () => {
    let seen: { auth: string | null; body: Record<string, unknown> } | undefined;
    server.use(
      http.post(URL, async ({ request }) => {
        seen = {
          auth: request.headers.get('authorization'),
          body: (await request.clone().json()) as Record<string, unknown>,
        };
        return sseResponse(happyStream(), request);
      }),
    );
    const stream = provider().stream(MESSAGES, {
      model: 'gpt-4o-mini',
      temperature: 0.2,
      maxOutputTokens: 64,
    });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toEqual({
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      text: 'Hello, Ada!',
      usage: { inputTokens: 24, outputTokens: 4 },
      finishReason: 'stop',
      attempts: 1,
    });
    expect(seen?.auth).toBe(`Bearer ${KEY}`);
    expect(seen?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
      store: false,
      temperature: 0.2,
      max_completion_tokens: 64,
    });
  });

  it('completes when the last event has no trailing newline', async () => {
    server.use(
      http.post(URL, ({ request }) =>
        sseResponse([chunk({ content: 'Hi' }), chunk({}, 'stop'), usageChunk(9, 1), 'data: [DONE]'], request),
      ),
    );
    const stream = provider().stream(MESSAGES, { model: 'gpt-4o-mini' });
    await expect(stream.result()).resolves.toMatchObject({
      text: 'Hi',
      usage: { inputTokens: 9, outputTokens: 1 },
      finishReason: 'stop',
    });
  });

  it('keeps the usage of a final usage chunk that lacks both its blank line and [DONE]', async () => {
    server.use(
      http.post(URL, ({ request }) =>
        sseResponse([chunk({ content: 'Hi' }), chunk({}, 'length'), usageChunk(9, 1).trimEnd()], request),
      ),
    );
    await expect(provider().stream(MESSAGES, { model: 'gpt-4o-mini' }).result()).resolves.toMatchObject({
      usage: { inputTokens: 9, outputTokens: 1 },
      finishReason: 'length',
    });
  });

  it('fails with provider_unavailable on an error event mid-stream, after the deltas before it, without retrying', async () => {
    let calls = 0;
    server.use(
      http.post(URL, ({ request }) => {
        calls++;
        return sseResponse(
          [
            chunk({ role: 'assistant', content: '' }),
            chunk({ content: 'Hel' }),
            chunk({ content: 'lo' }),
            `data: ${JSON.stringify({
              error: {
                message: 'The server had an error processing your request (upstream-secret-detail).',
                type: 'server_error',
                param: null,
                code: null,
              },
            })}\n\n`,
          ],
          request,
        );
      }),
    );
    const retries = instantRetries();
    const stream = provider(retries).stream(MESSAGES, { model: 'gpt-4o-mini' });
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(error).toMatchObject({ code: 'provider_unavailable', provider: 'openai', attempts: 1 });
    expect(error?.message).toBe('The openai provider is unavailable [provider_unavailable]');
    expect(calls).toBe(1);
    expect(retries.delays).toEqual([]);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_unavailable', attempts: 1 });
  });

  it('fails with provider_unavailable when the connection drops before the finish reason', async () => {
    server.use(http.post(URL, ({ request }) => sseResponse([chunk({ content: 'Hel' }), 'reset'], request)));
    const { deltas, error } = await drain(provider().stream(MESSAGES, { model: 'gpt-4o-mini' }));
    expect(deltas).toEqual(['Hel']);
    expect(error?.code).toBe('provider_unavailable');
  });

  it('fails with provider_unavailable when the stream closes cleanly before the finish reason', async () => {
    server.use(http.post(URL, ({ request }) => sseResponse([chunk({ content: 'Hel' })], request)));
    const { deltas, error } = await drain(provider().stream(MESSAGES, { model: 'gpt-4o-mini' }));
    expect(deltas).toEqual(['Hel']);
    expect(error?.code).toBe('provider_unavailable');
  });

  it('fires the idle timeout on a stalled stream and aborts the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(URL, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([chunk({ content: 'Hel' }), 'stall'], request);
      }),
    );
    const started = performance.now();
    const { deltas, error } = await drain(
      provider().stream(MESSAGES, { model: 'gpt-4o-mini', idleTimeoutMs: 200 }),
    );
    expect(deltas).toEqual(['Hel']);
    expect(error).toMatchObject({ code: 'provider_idle_timeout', attempts: 1 });
    expect(performance.now() - started).toBeLessThan(2_000);
    await upstreamAborted;
  });

  it('retries a stall before the first delta, then succeeds', async () => {
    let calls = 0;
    server.use(
      http.post(URL, ({ request }) => {
        calls++;
        return sseResponse(
          calls === 1 ? [chunk({ role: 'assistant', content: '' }), 'stall'] : happyStream(),
          request,
        );
      }),
    );
    const retries = instantRetries();
    const stream = provider({ ...retries, idleTimeoutMs: 200 }).stream(MESSAGES, { model: 'gpt-4o-mini' });
    const { deltas } = await drain(stream);
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'Hello, Ada!', attempts: 2 });
    expect(retries.delays).toEqual([375]);
  });

  it('retries a 429 after its Retry-After, without duplicating any text', async () => {
    let calls = 0;
    server.use(
      http.post(URL, ({ request }) => {
        calls++;
        if (calls === 1) {
          return HttpResponse.json(
            {
              error: {
                message: 'Rate limit reached for gpt-4o-mini',
                type: 'requests',
                code: 'rate_limit_exceeded',
              },
            },
            { status: 429, headers: { 'retry-after': '2' } },
          );
        }
        return sseResponse(happyStream(), request);
      }),
    );
    const retries = instantRetries();
    const stream = provider(retries).stream(MESSAGES, { model: 'gpt-4o-mini' });
    const { deltas } = await drain(stream);
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'Hello, Ada!', attempts: 2 });
    expect(calls).toBe(2);
    expect(retries.delays).toEqual([2_000]);
  });

  it('gives up with provider_unavailable (HTTP 500) once the attempts are spent, saying nothing of the body', async () => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return HttpResponse.json(
          { error: { message: `internal detail ${KEY}`, type: 'server_error', param: null, code: null } },
          { status: 500 },
        );
      }),
    );
    const retries = instantRetries();
    const { deltas, error } = await drain(provider(retries).stream(MESSAGES, { model: 'gpt-4o-mini' }));
    expect(deltas).toEqual([]);
    expect(calls).toBe(3);
    expect(retries.delays).toEqual([375, 750]);
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 500, attempts: 3 });
    expect(error?.message).toBe('The openai provider is unavailable (HTTP 500) [provider_unavailable]');
    expect(JSON.stringify(error)).not.toContain('internal detail');
    expect(error?.cause).toBeUndefined();
  });

  it('stops retrying when the next wait would overrun the budget', async () => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return new HttpResponse(null, { status: 503, headers: { 'retry-after': '60' } });
      }),
    );
    const retries = instantRetries();
    const { error } = await drain(provider(retries).stream(MESSAGES, { model: 'gpt-4o-mini' }));
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 503, attempts: 1 });
    expect(calls).toBe(1);
    expect(retries.delays).toEqual([]);
  });

  it('does not retry a refused key (401): provider_error', async () => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return HttpResponse.json(
          {
            error: {
              message: 'Incorrect API key provided: sk-test-***',
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          },
          { status: 401 },
        );
      }),
    );
    const { error } = await drain(provider(instantRetries()).stream(MESSAGES, { model: 'gpt-4o-mini' }));
    expect(error).toMatchObject({ code: 'provider_error', status: 401, attempts: 1 });
    expect(calls).toBe(1);
  });

  it('times out an attempt whose headers do not arrive, and retries it', async () => {
    let calls = 0;
    server.use(
      http.post(URL, async ({ request }) => {
        calls++;
        await untilAborted(request.signal);
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const retries = instantRetries({ maxAttempts: 2 });
    const { error } = await drain(
      provider({ ...retries, timeoutMs: 50 }).stream(MESSAGES, { model: 'gpt-4o-mini' }),
    );
    expect(error).toMatchObject({ code: 'provider_timeout', attempts: 2 });
    expect(calls).toBe(2);
  });

  it('cancels promptly when the signal aborts mid-stream, aborting the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(URL, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([chunk({ content: 'Hel' }), 'stall'], request);
      }),
    );
    const controller = new AbortController();
    const stream = provider().stream(MESSAGES, { model: 'gpt-4o-mini', signal: controller.signal });
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
    expect(outcome).toMatchObject({ code: 'provider_cancelled', provider: 'openai' });
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
    await upstreamAborted;
  });

  it('cancels promptly while waiting for the response headers', async () => {
    server.use(
      http.post(URL, async ({ request }) => {
        await untilAborted(request.signal);
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const controller = new AbortController();
    const stream = provider().stream(MESSAGES, { model: 'gpt-4o-mini', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 1 });
  });

  it('does not call the provider at all when the signal is already aborted', async () => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return new HttpResponse(null, { status: 500 });
      }),
    );
    const stream = provider().stream(MESSAGES, { model: 'gpt-4o-mini', signal: AbortSignal.abort() });
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 0 });
    expect(calls).toBe(0);
  });

  it('cancels the upstream request when the consumer stops reading', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(URL, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([chunk({ content: 'Hel' }), chunk({ content: 'lo' }), 'stall'], request);
      }),
    );
    const stream = provider().stream(MESSAGES, { model: 'gpt-4o-mini' });
    for await (const delta of stream) {
      expect(delta).toBe('Hel');
      break;
    }
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
    await upstreamAborted;
  });

  it('reaches an OpenAI-compatible server at its base URL with max_tokens, estimating usage it does not report', async () => {
    let body: Record<string, unknown> | undefined;
    server.use(
      http.post('http://127.0.0.1:11434/v1/chat/completions', async ({ request }) => {
        body = (await request.clone().json()) as Record<string, unknown>;
        return sseResponse(
          [
            `data: ${JSON.stringify({ ...BASE, model: 'llama3.2:3b', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello there' }, finish_reason: null }] })}\n\n`,
            `data: ${JSON.stringify({ ...BASE, model: 'llama3.2:3b', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }] })}\n\n`,
            DONE,
          ],
          request,
        );
      }),
    );
    const stream = provider({ apiKey: 'local', baseURL: 'http://127.0.0.1:11434/v1' }).stream(MESSAGES, {
      model: 'llama3.2:3b',
      maxOutputTokens: 32,
    });
    await expect(stream.result()).resolves.toEqual({
      provider: 'openai',
      model: 'llama3.2:3b',
      text: 'Hello there',
      // (3 + (4 + 4) + (4 + 5)) prompt tokens; 11 characters ≈ 3 tokens.
      usage: { inputTokens: 20, outputTokens: 3 },
      finishReason: 'stop',
      attempts: 1,
    });
    expect(body).toMatchObject({ model: 'llama3.2:3b', max_tokens: 32, store: false });
    expect(body).not.toHaveProperty('max_completion_tokens');
  });
});
