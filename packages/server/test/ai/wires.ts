import { HttpResponse } from 'msw';
import { expect } from 'vitest';
import { ANTHROPIC_API_URL, AnthropicProvider } from '../../src/modules/ai/providers/anthropic.js';
import { OPENAI_API_URL, OpenAIProvider } from '../../src/modules/ai/providers/openai.js';
import type { HttpProviderOptions } from '../../src/modules/ai/providers/stream.js';
import type { ModelProvider, StreamResult } from '../../src/modules/ai/providers/types.js';
import type { BodyStep } from './helpers.js';

/** The conversation every provider test sends. */
export const MESSAGES = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to Ada.' },
];

/**
 * One HTTP provider's wire format, as its tests script it: what the shared suite (providers.test.ts) needs
 * to run the same behaviour against each provider. The wire details themselves (event names, chunk
 * shapes, error bodies, headers) stay in the provider's own section.
 */
export interface Wire {
  name: 'openai' | 'anthropic';
  /** The endpoint the adapter streams from. */
  url: string;
  /** A model id the provider accepts. */
  model: string;
  /** The adapter, with 5 s timeouts unless `options` says otherwise. */
  provider(options?: Partial<HttpProviderOptions>): ModelProvider;
  /** A whole successful stream whose deltas are `Hello`, `, Ada`, `!` (the first split across reads). */
  happyStream(): BodyStep[];
  /** What {@link happyStream} ends with. */
  happyResult: StreamResult;
  /** What the request of {@link happyStream} asks for beyond the model (temperature, output tokens). */
  happyOptions: { temperature?: number; maxOutputTokens?: number };
  /** Checks the request of {@link happyStream}. */
  expectHappyRequest(headers: Headers, body: Record<string, unknown>): void;
  /** What comes before the first delta (role or message start events). */
  opening: BodyStep[];
  /** One event carrying the text delta `text`. */
  delta(text: string): string;
  /** What comes after the last delta of a stream that was cut before its finish reason. */
  unfinished: BodyStep[];
  /** An error event mid-stream, whose message holds `upstream-secret-detail`. */
  errorEvent: string;
  /** A provider error body with `message`, as the provider sends it with an error status. */
  errorBody(message: string): unknown;
  /** A transient refusal the adapter retries, and the waits it makes before the retry (ms). */
  transient: { response(): Response; delays: number[] };
}

// OpenAI: Chat Completions with stream: true and stream_options.include_usage.

/** The fields every chunk of one completion shares, as OpenAI sends them. */
export const OPENAI_CHUNK = {
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion.chunk',
  created: 1767225600,
  model: 'gpt-4o-mini-2024-07-18',
  service_tier: 'default',
  system_fingerprint: 'fp_0ba0d124f1',
};

/** One `data:` event of a content chunk (`usage: null` on every chunk but the last, with include_usage). */
export function chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  return `data: ${JSON.stringify({
    ...OPENAI_CHUNK,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  })}\n\n`;
}

/** The usage chunk sent before `[DONE]` when `stream_options.include_usage` is set: empty `choices`. */
export function usageChunk(prompt: number, completion: number): string {
  return `data: ${JSON.stringify({
    ...OPENAI_CHUNK,
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

/** The last event of an OpenAI stream. */
export const DONE = 'data: [DONE]\n\n';

const OPENAI_KEY = 'sk-test-openai-0123456789';

/** OpenAI's wire. */
export const openai: Wire = {
  name: 'openai',
  url: `${OPENAI_API_URL}/chat/completions`,
  model: 'gpt-4o-mini',
  provider: (options = {}) =>
    new OpenAIProvider({
      apiKey: OPENAI_KEY,
      baseURL: OPENAI_API_URL,
      timeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      ...options,
    }),
  happyStream: () => {
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
  },
  happyResult: {
    provider: 'openai',
    model: 'gpt-4o-mini-2024-07-18',
    text: 'Hello, Ada!',
    usage: { inputTokens: 24, outputTokens: 4 },
    finishReason: 'stop',
    attempts: 1,
  },
  happyOptions: { temperature: 0.2, maxOutputTokens: 64 },
  expectHappyRequest: (headers, body) => {
    expect(headers.get('authorization')).toBe(`Bearer ${OPENAI_KEY}`);
    // store: false keeps the conversation out of OpenAI's stored completions.
    expect(body).toEqual({
      model: 'gpt-4o-mini',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
      store: false,
      temperature: 0.2,
      max_completion_tokens: 64,
    });
  },
  opening: [chunk({ role: 'assistant', content: '' })],
  delta: (text) => chunk({ content: text }),
  unfinished: [],
  errorEvent: `data: ${JSON.stringify({
    error: {
      message: 'The server had an error processing your request (upstream-secret-detail).',
      type: 'server_error',
      param: null,
      code: null,
    },
  })}\n\n`,
  errorBody: (message) => ({ error: { message, type: 'server_error', param: null, code: null } }),
  transient: {
    response: () =>
      HttpResponse.json(
        {
          error: {
            message: 'Rate limit reached for gpt-4o-mini',
            type: 'requests',
            code: 'rate_limit_exceeded',
          },
        },
        { status: 429, headers: { 'retry-after': '2' } },
      ),
    delays: [2_000],
  },
};

// Anthropic: the Messages API with stream: true (named events).

/** One named SSE event, as the Messages API sends it: `event:` then `data:` then a blank line. */
export function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The stream's first event: the message, with the input token counts (21 + 4 read from the cache). */
export const MESSAGE_START = event('message_start', {
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
export const BLOCK_START = event('content_block_start', {
  index: 0,
  content_block: { type: 'text', text: '' },
});
export const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
/** A text delta of the first content block. */
export const text = (t: string) =>
  event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
export const BLOCK_STOP = event('content_block_stop', { index: 0 });
/** The stop reason and the output token count. */
export const messageDelta = (stopReason: string, outputTokens: number) =>
  event('message_delta', {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: outputTokens },
  });
export const MESSAGE_STOP = event('message_stop', {});

const ANTHROPIC_KEY = 'sk-ant-api03-test-0123456789';

/** Anthropic's wire. */
export const anthropic: Wire = {
  name: 'anthropic',
  url: `${ANTHROPIC_API_URL}/v1/messages`,
  model: 'claude-haiku-4-5',
  provider: (options = {}) =>
    new AnthropicProvider({
      apiKey: ANTHROPIC_KEY,
      baseURL: ANTHROPIC_API_URL,
      timeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      ...options,
    }),
  happyStream: () => {
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
  },
  happyResult: {
    provider: 'anthropic',
    model: 'claude-haiku-4-5-20251001',
    text: 'Hello, Ada!',
    usage: { inputTokens: 25, outputTokens: 5 },
    finishReason: 'stop',
    attempts: 1,
  },
  happyOptions: { temperature: 0.3 },
  expectHappyRequest: (headers, body) => {
    // The system prompt travels apart from the messages; max_tokens, which the Messages API requires,
    // defaults to 4096 when the agent sets no maximum.
    expect(body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 4096,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'Say hello to Ada.' }],
      stream: true,
      temperature: 0.3,
    });
    expect(headers.get('anthropic-version')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // @anthropic-ai/sdk 1.x sends the API key as a bearer credential.
    expect(headers.get('authorization')).toBe(`Bearer ${ANTHROPIC_KEY}`);
  },
  opening: [MESSAGE_START, BLOCK_START],
  delta: text,
  unfinished: [BLOCK_STOP],
  errorEvent:
    'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (upstream-secret-detail)"}}\n\n',
  errorBody: (message) => ({ type: 'error', error: { type: 'api_error', message } }),
  transient: {
    response: () =>
      HttpResponse.json(
        { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
        { status: 529 },
      ),
    delays: [375],
  },
};
