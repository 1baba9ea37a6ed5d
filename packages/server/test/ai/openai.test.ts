import { http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sseResponse } from './helpers.js';
import { chunk, DONE, MESSAGES, OPENAI_CHUNK, openai, usageChunk } from './wires.js';

// OpenAI's wire details; what every adapter does alike is in providers.test.ts.
describe('OpenAI adapter (Chat Completions SSE, mocked with msw)', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('asks OpenAI not to store the completion (store: false) and sends no user identifier', async () => {
    let body: Record<string, unknown> | undefined;
    server.use(
      http.post(openai.url, async ({ request }) => {
        body = (await request.clone().json()) as Record<string, unknown>;
        return sseResponse(openai.happyStream(), request);
      }),
    );
    await openai.provider().stream(MESSAGES, { model: 'gpt-4o-mini' }).result();
    expect(body?.store).toBe(false);
    expect(Object.keys(body ?? {}).sort()).toEqual([
      'messages',
      'model',
      'store',
      'stream',
      'stream_options',
    ]);
  });

  it('completes when the last event has no trailing newline', async () => {
    server.use(
      http.post(openai.url, ({ request }) =>
        sseResponse([chunk({ content: 'Hi' }), chunk({}, 'stop'), usageChunk(9, 1), 'data: [DONE]'], request),
      ),
    );
    const stream = openai.provider().stream(MESSAGES, { model: 'gpt-4o-mini' });
    await expect(stream.result()).resolves.toMatchObject({
      text: 'Hi',
      usage: { inputTokens: 9, outputTokens: 1 },
      finishReason: 'stop',
    });
  });

  it('keeps the usage of a final usage chunk that lacks both its blank line and [DONE]', async () => {
    server.use(
      http.post(openai.url, ({ request }) =>
        sseResponse([chunk({ content: 'Hi' }), chunk({}, 'length'), usageChunk(9, 1).trimEnd()], request),
      ),
    );
    await expect(
      openai.provider().stream(MESSAGES, { model: 'gpt-4o-mini' }).result(),
    ).resolves.toMatchObject({
      usage: { inputTokens: 9, outputTokens: 1 },
      finishReason: 'length',
    });
  });

  it('reaches an OpenAI-compatible server at its base URL with max_tokens, estimating usage it does not report', async () => {
    let body: Record<string, unknown> | undefined;
    server.use(
      http.post('http://127.0.0.1:11434/v1/chat/completions', async ({ request }) => {
        body = (await request.clone().json()) as Record<string, unknown>;
        return sseResponse(
          [
            `data: ${JSON.stringify({ ...OPENAI_CHUNK, model: 'llama3.2:3b', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello there' }, finish_reason: null }] })}\n\n`,
            `data: ${JSON.stringify({ ...OPENAI_CHUNK, model: 'llama3.2:3b', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }] })}\n\n`,
            DONE,
          ],
          request,
        );
      }),
    );
    const stream = openai
      .provider({ apiKey: 'local', baseURL: 'http://127.0.0.1:11434/v1' })
      .stream(MESSAGES, { model: 'llama3.2:3b', maxOutputTokens: 32 });
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
