/**
 * The model provider interface: one call that streams a chat completion. Adapters (OpenAI, Anthropic, the
 * offline mock) implement it; executions and chat call it without knowing which provider answers.
 */
import type { ProviderId } from '@fleece/sdk/contract';

export type { ProviderId };

/**
 * One message of a conversation, in order. `system` messages carry instructions (Anthropic receives them
 * as its top-level `system` prompt); `user` and `assistant` messages alternate in the conversation.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Options of one {@link ModelProvider.stream} call. */
export interface StreamOptions {
  /** The model id the provider knows (`gpt-4o-mini`, `claude-haiku-4-5`, `mock`). */
  model: string;
  /** Sampling temperature, passed through when given (OpenAI 0–2, Anthropic 0–1); the mock ignores it. */
  temperature?: number | undefined;
  /** Upper bound on generated tokens. Anthropic requires one: 4096 when unset. */
  maxOutputTokens?: number | undefined;
  /**
   * Cancels the call: the upstream request is aborted at once and the stream ends with a
   * {@link ProviderError} `provider_cancelled`, whether or not the consumer is waiting for a delta.
   */
  signal?: AbortSignal | undefined;
  /**
   * How long the streaming response may go without an upstream event (a delta, a usage report, a
   * keep-alive ping), in ms, once its headers have arrived. Default: the provider's (from
   * `FLEECE_PROVIDER_IDLE_TIMEOUT_MS`).
   */
  idleTimeoutMs?: number | undefined;
}

/** Tokens a call consumed, as the provider reports them (estimated at ~4 characters a token when it does not). */
export interface TokenUsage {
  /** Prompt tokens, including cached ones. */
  inputTokens: number;
  /** Generated tokens. */
  outputTokens: number;
}

/**
 * Why generation ended: `stop` (the model finished, or hit a stop sequence), `length` (the output token
 * limit or the context window), `content_filter` (the provider withheld or refused the output), `other`
 * (a reason this version does not know). Failures and cancellation are not finish reasons: they reject
 * with a {@link ProviderError}.
 */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'other';

/** The outcome of a completed stream. */
export interface StreamResult {
  /** Who answered; `mock` for the offline provider. */
  provider: ProviderId;
  /** The model that answered, as the provider names it (it may be a dated snapshot of the one asked for). */
  model: string;
  /** The whole output: every delta, concatenated. */
  text: string;
  usage: TokenUsage;
  finishReason: FinishReason;
  /** Upstream calls made: 1, or more when an attempt failed before its first delta and was retried. */
  attempts: number;
}

/**
 * A streaming chat completion: an async iterable of text deltas (non-empty strings, in order), then a
 * final {@link StreamResult}.
 *
 * - Iterate it once (`for await`). A failure rejects the iteration with a {@link ProviderError}; breaking out
 *   early cancels the upstream call.
 * - `result()` settles when the stream ends: with the result, or rejected with the same `ProviderError`
 *   (`provider_cancelled` after an early break or an aborted signal). Called before any iteration, it
 *   consumes the stream itself, so `await stream.result()` alone is a non-streaming call.
 * - Nothing is sent upstream until the stream is iterated or `result()` is called.
 */
export interface ProviderStream extends AsyncIterable<string> {
  result(): Promise<StreamResult>;
}

/**
 * An AI provider. `stream()` never throws: every failure (bad credentials, rate limits, timeouts,
 * cancellation) surfaces through the returned stream as a {@link ProviderError} with a safe code.
 *
 * @example
 * const stream = provider.stream([{ role: 'user', content: 'Hello' }], { model: 'gpt-4o-mini', signal });
 * for await (const delta of stream) reply.raw.write(delta);
 * const { usage, finishReason } = await stream.result();
 */
export interface ModelProvider {
  readonly id: ProviderId;
  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream;
}

/** The default `max_tokens` sent to Anthropic, which requires one, when the caller sets none. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** Rough token count of `text` (~4 characters a token), for providers that report no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Rough prompt token count of `messages`: the content's tokens plus 4 per message for its framing and 3
 * to prime the reply (the overhead OpenAI documents for its chat format).
 */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + 4 + estimateTokens(m.content), 3);
}
