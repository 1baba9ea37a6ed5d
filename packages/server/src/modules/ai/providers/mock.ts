import { createHash } from 'node:crypto';
import { ProviderError } from './errors.js';
import { sleep } from './retry.js';
import { createProviderStream, type RetryEvent } from './stream.js';
import {
  type ChatMessage,
  estimatePromptTokens,
  estimateTokens,
  type FinishReason,
  type ModelProvider,
  type ProviderStream,
  type StreamOptions,
  type TokenUsage,
} from './types.js';

/** Words per streamed chunk of the mock's answer. */
const WORDS_PER_CHUNK = 3;
/** Characters of the last user message quoted in the answer. */
const QUOTE_CHARS = 60;

/** The mock's whole answer to one request, before streaming. */
export interface MockCompletion {
  /** The deltas, in order; concatenated they are the answer. */
  chunks: string[];
  usage: TokenUsage;
  finishReason: FinishReason;
}

/**
 * The mock provider's answer to `messages`: a pure function of the messages and the model, so the same
 * input always gives the same chunks. The answer quotes the start of the last user message, counts its
 * words and the messages, and gives a digest of the whole input, then says it comes from the offline mock.
 * It is split into chunks of three words. Usage is estimated as OpenAI counts chat prompts (≈4 characters a
 * token, 4 tokens of framing per message, 3 to prime the reply). With `maxOutputTokens` below the answer's
 * size, the answer is cut at ≈4 characters a token and finishes with `length`.
 */
export function mockCompletion(
  messages: readonly ChatMessage[],
  options: Pick<StreamOptions, 'model' | 'maxOutputTokens'>,
): MockCompletion {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const flat = lastUser.replace(/\s+/g, ' ').trim();
  const quote = flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS - 1)}…` : flat;
  const words = flat === '' ? 0 : flat.split(' ').length;
  const digest = createHash('sha256')
    .update(JSON.stringify([options.model, messages.map((m) => [m.role, m.content])]))
    .digest('hex')
    .slice(0, 12);
  let answer =
    `Mock reply to "${quote}": ${words} word${words === 1 ? '' : 's'} in the last message, ` +
    `${messages.length} message${messages.length === 1 ? '' : 's'} in all, input digest ${digest}. ` +
    `This answer comes from Fleece's offline mock provider (model ${options.model}); no AI model was called.`;
  let finishReason: FinishReason = 'stop';
  const limit = options.maxOutputTokens;
  if (limit !== undefined && estimateTokens(answer) > limit) {
    answer = answer.slice(0, limit * 4);
    finishReason = 'length';
  }
  const pieces = answer.match(/\S+\s*/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < pieces.length; i += WORDS_PER_CHUNK) {
    chunks.push(pieces.slice(i, i + WORDS_PER_CHUNK).join(''));
  }
  return {
    chunks,
    usage: { inputTokens: estimatePromptTokens(messages), outputTokens: estimateTokens(answer) },
    finishReason,
  };
}

/** Options of the {@link MockProvider}. */
export interface MockProviderOptions {
  /** Pause before each chunk, in ms, to imitate a model's pace; 0 yields to the event loop only. @default 0 */
  chunkDelayMs?: number | undefined;
  /** Default idle timeout, in ms (only a very slow consumer-side pause could trip it). @default 60000 */
  idleTimeoutMs?: number | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/**
 * The offline, deterministic provider: no network, no key, no cost. It is always enabled and is the
 * default model's provider when no provider key is set. Every result names it (`provider: 'mock'`), so an
 * answer from it is never mistaken for a model's. It honours cancellation and `maxOutputTokens` like the
 * real adapters; `temperature` changes nothing.
 */
export class MockProvider implements ModelProvider {
  readonly id = 'mock' as const;
  readonly #chunkDelayMs: number;
  readonly #idleTimeoutMs: number;
  readonly #onRetry: MockProviderOptions['onRetry'];

  constructor(options: MockProviderOptions = {}) {
    this.#chunkDelayMs = options.chunkDelayMs ?? 0;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#onRetry = options.onRetry;
  }

  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    const delay = this.#chunkDelayMs;
    return createProviderStream(
      async function* mockAttempt({ signal, touch }) {
        const completion = mockCompletion(messages, options);
        touch();
        for (const chunk of completion.chunks) {
          if (delay > 0) await sleep(delay, signal);
          else await new Promise<void>((resolve) => setImmediate(resolve));
          touch();
          yield chunk;
        }
        return { model: options.model, usage: completion.usage, finishReason: completion.finishReason };
      },
      {
        provider: 'mock',
        signal: options.signal,
        idleTimeoutMs: options.idleTimeoutMs ?? this.#idleTimeoutMs,
        onRetry: this.#onRetry,
        classify: () => new ProviderError('provider_error', 'mock'),
      },
    );
  }
}
