import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drain, instantRetries, sseResponse } from './helpers.js';
import {
  anthropic,
  BLOCK_START,
  BLOCK_STOP,
  MESSAGE_START,
  MESSAGE_STOP,
  MESSAGES,
  messageDelta,
  PING,
  text,
} from './wires.js';

// Anthropic's wire details; what every adapter does alike is in providers.test.ts.
describe('Anthropic adapter (Messages SSE, mocked with msw)', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('completes when the final message_stop lacks its blank line (the incomplete event is dropped)', async () => {
    server.use(
      http.post(anthropic.url, ({ request }) =>
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
      anthropic.provider().stream(MESSAGES, { model: 'claude-haiku-4-5', maxOutputTokens: 2 }).result(),
    ).resolves.toMatchObject({
      text: 'Hi',
      usage: { inputTokens: 25, outputTokens: 2 },
      finishReason: 'length',
    });
  });

  it('counts pings as activity: a slow stream that keeps pinging is not idle', async () => {
    server.use(
      http.post(anthropic.url, ({ request }) =>
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
      anthropic.provider().stream(MESSAGES, { model: 'claude-haiku-4-5', idleTimeoutMs: 150 }).result(),
    ).resolves.toMatchObject({ text: 'Late', attempts: 1 });
  });

  it('retries a 429 after its retry-after and gives up with provider_rate_limited when it persists', async () => {
    let calls = 0;
    server.use(
      http.post(anthropic.url, () => {
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
    const { error } = await drain(
      anthropic.provider(retries).stream(MESSAGES, { model: 'claude-haiku-4-5' }),
    );
    expect(error).toMatchObject({ code: 'provider_rate_limited', status: 429, attempts: 3 });
    expect(calls).toBe(3);
    expect(retries.delays).toEqual([1_000, 1_000]);
    expect(error?.message).not.toContain('per-minute');
  });
});
