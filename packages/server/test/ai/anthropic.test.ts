import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_API_URL, AnthropicProvider } from '../../src/modules/ai/providers/anthropic.js';
import type { HttpProviderOptions } from '../../src/modules/ai/providers/stream.js';
import { type BodyStep, drain, instantRetries, sseResponse, untilAborted } from './helpers.js';

const URL = `${ANTHROPIC_API_URL}/v1/messages`;
const KEY = 'sk-ant-api03-test-0123456789';
const MESSAGES = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to Ada.' },
];

/** One named SSE event, as the Messages API sends it: `event:` then `data:` then a blank line. */
function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

const MESSAGE_START = event('message_start', {
  message: {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    content: [],
    model: 'claude-haiku-4-5-20251001',
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: 21,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 4,
      output_tokens: 1,
    },
  },
});
const BLOCK_START = event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const text = (t: string) =>
  event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
const BLOCK_STOP = event('content_block_stop', { index: 0 });
const messageDelta = (stopReason: string, outputTokens: number) =>
  event('message_delta', {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: outputTokens },
  });
const MESSAGE_STOP = event('message_stop', {});

function happyStream(): BodyStep[] {
  const hello = text('Hello');
  return [
    MESSAGE_START,
    BLOCK_START,
    PING,
    hello.slice(0, 30),
    hello.slice(30),
    text(', Ada'),
    text('!'),
    BLOCK_STOP,
    messageDelta('end_turn', 5),
    MESSAGE_STOP,
  ];
}

function provider(options: Partial<HttpProviderOptions> = {}) {
  return new AnthropicProvider({
    apiKey: KEY,
    baseURL: ANTHROPIC_API_URL,
    timeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    ...options,
  });
}

describe('Anthropic adapter (Messages SSE, mocked with msw)', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('streams the text deltas in order, skipping pings, and ends with usage, stop reason and model', async () => {
    let seen: { headers: Headers; body: Record<string, unknown> } | undefined;
    server.use(
      http.post(URL, async ({ request }) => {
        seen = { headers: request.headers, body: (await request.clone().json()) as Record<string, unknown> };
        return sseResponse(happyStream(), request);
      }),
    );
    const stream = provider().stream(MESSAGES, { model: 'claude-haiku-4-5', temperature: 0.3 });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toEqual({
      provider: 'anthropic',
      model: 'claude-haiku-4-5-20251001',
      text: 'Hello, Ada!',
      usage: { inputTokens: 25, outputTokens: 5 },
      finishReason: 'stop',
      attempts: 1,
    });
    expect(seen?.body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 4096,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'Say hello to Ada.' }],
      stream: true,
      temperature: 0.3,
    });
    expect(seen?.headers.get('anthropic-version')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // @anthropic-ai/sdk 1.x sends the API key as a bearer credential.
    expect(seen?.headers.get('authorization')).toBe(`Bearer ${KEY}`);
  });

  it('completes when the final message_stop lacks its blank line (the incomplete event is dropped)', async () => {
    server.use(
      http.post(URL, ({ request }) =>
        sseResponse(
          [
            MESSAGE_START,
            BLOCK_START,
            text('Hi'),
            BLOCK_STOP,
            messageDelta('max_tokens', 2),
            MESSAGE_STOP.trimEnd(),
          ],
          request,
        ),
      ),
    );
    await expect(
      provider().stream(MESSAGES, { model: 'claude-haiku-4-5', maxOutputTokens: 2 }).result(),
    ).resolves.toMatchObject({
      text: 'Hi',
      usage: { inputTokens: 25, outputTokens: 2 },
      finishReason: 'length',
    });
  });

  it('fails with provider_unavailable on an overloaded_error event mid-stream, without retrying', async () => {
    let calls = 0;
    server.use(
      http.post(URL, ({ request }) => {
        calls++;
        return sseResponse(
          [
            MESSAGE_START,
            BLOCK_START,
            text('Hel'),
            'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (upstream-secret-detail)"}}\n\n',
          ],
          request,
        );
      }),
    );
    const retries = instantRetries();
    const stream = provider(retries).stream(MESSAGES, { model: 'claude-haiku-4-5' });
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['Hel']);
    expect(error).toMatchObject({ code: 'provider_unavailable', provider: 'anthropic', attempts: 1 });
    expect(error?.message).toBe('The anthropic provider is unavailable [provider_unavailable]');
    expect(calls).toBe(1);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_unavailable' });
  });

  it('fails with provider_unavailable when the stream ends before the stop reason', async () => {
    server.use(
      http.post(URL, ({ request }) =>
        sseResponse([MESSAGE_START, BLOCK_START, text('Hel'), BLOCK_STOP], request),
      ),
    );
    const { deltas, error } = await drain(provider().stream(MESSAGES, { model: 'claude-haiku-4-5' }));
    expect(deltas).toEqual(['Hel']);
    expect(error?.code).toBe('provider_unavailable');
  });

  it('counts pings as activity: a slow stream that keeps pinging is not idle', async () => {
    server.use(
      http.post(URL, ({ request }) =>
        sseResponse(
          [
            MESSAGE_START,
            BLOCK_START,
            // 200 ms before the first delta, longer than the idle timeout, with a ping every 25 ms.
            ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap(() => [{ waitMs: 25 }, PING]),
            text('Late'),
            BLOCK_STOP,
            messageDelta('end_turn', 1),
            MESSAGE_STOP,
          ],
          request,
        ),
      ),
    );
    await expect(
      provider().stream(MESSAGES, { model: 'claude-haiku-4-5', idleTimeoutMs: 150 }).result(),
    ).resolves.toMatchObject({ text: 'Late', attempts: 1 });
  });

  it('fires the idle timeout on a stalled stream and aborts the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(URL, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([MESSAGE_START, BLOCK_START, text('Hel'), 'stall'], request);
      }),
    );
    const { deltas, error } = await drain(
      provider().stream(MESSAGES, { model: 'claude-haiku-4-5', idleTimeoutMs: 200 }),
    );
    expect(deltas).toEqual(['Hel']);
    expect(error).toMatchObject({ code: 'provider_idle_timeout', attempts: 1 });
    await upstreamAborted;
  });

  it('retries 529 overloaded and then succeeds, without duplicating any text', async () => {
    let calls = 0;
    server.use(
      http.post(URL, ({ request }) => {
        calls++;
        if (calls === 1) {
          return HttpResponse.json(
            { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
            { status: 529 },
          );
        }
        return sseResponse(happyStream(), request);
      }),
    );
    const retries = instantRetries();
    const stream = provider(retries).stream(MESSAGES, { model: 'claude-haiku-4-5' });
    const { deltas } = await drain(stream);
    expect(deltas).toEqual(['Hello', ', Ada', '!']);
    await expect(stream.result()).resolves.toMatchObject({ text: 'Hello, Ada!', attempts: 2 });
    expect(retries.delays).toEqual([375]);
  });

  it('retries a 429 after its retry-after and gives up with provider_rate_limited when it persists', async () => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return HttpResponse.json(
          {
            type: 'error',
            error: {
              type: 'rate_limit_error',
              message: 'Number of request tokens has exceeded your per-minute rate limit',
            },
          },
          { status: 429, headers: { 'retry-after': '1' } },
        );
      }),
    );
    const retries = instantRetries();
    const { error } = await drain(provider(retries).stream(MESSAGES, { model: 'claude-haiku-4-5' }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', status: 429, attempts: 3 });
    expect(calls).toBe(3);
    expect(retries.delays).toEqual([1_000, 1_000]);
    expect(error?.message).not.toContain('per-minute');
  });

  it('cancels promptly when the signal aborts mid-stream, aborting the upstream request', async () => {
    let upstreamAborted: Promise<void> | undefined;
    server.use(
      http.post(URL, ({ request }) => {
        upstreamAborted = untilAborted(request.signal);
        return sseResponse([MESSAGE_START, BLOCK_START, text('Hel'), 'stall'], request);
      }),
    );
    const controller = new AbortController();
    const stream = provider().stream(MESSAGES, { model: 'claude-haiku-4-5', signal: controller.signal });
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
    expect(outcome).toMatchObject({ code: 'provider_cancelled', provider: 'anthropic' });
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled' });
    await upstreamAborted;
  });
});
