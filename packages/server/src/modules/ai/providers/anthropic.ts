import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { MessageCreateParamsStreaming } from '@anthropic-ai/sdk/resources/messages';
import { classifySdkError, ProviderError } from './errors.js';
import { activityFetch, withActivity } from './idle.js';
import { createProviderStream, type HttpProviderOptions } from './stream.js';
import {
  type ChatMessage,
  DEFAULT_MAX_OUTPUT_TOKENS,
  type FinishReason,
  type ModelProvider,
  type ProviderStream,
  type StreamOptions,
} from './types.js';

/** Anthropic's API. */
export const ANTHROPIC_API_URL = 'https://api.anthropic.com';

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  refusal: 'content_filter',
};

/** Maps what the Anthropic SDK throws to a safe {@link ProviderError} (see {@link classifySdkError}). */
export function classifyAnthropicError(error: unknown): ProviderError {
  return classifySdkError(error, 'anthropic', {
    APIConnectionTimeoutError,
    APIUserAbortError,
    APIConnectionError,
    APIError,
  });
}

/**
 * The Anthropic adapter: the Messages API through the official `@anthropic-ai/sdk`, streamed
 * (`message_start` → content blocks of `content_block_delta` / `text_delta` → `message_delta` with the
 * stop reason and cumulative usage → `message_stop`; `ping` keep-alives between). System messages become
 * the top-level `system` prompt, joined by blank lines. `max_tokens` is required by the API: 4096 when the
 * caller sets no limit. Input usage counts cached prompt tokens too.
 *
 * The answer is complete once a stop reason has arrived: a final `message_stop` lost to a missing blank
 * line (an incomplete SSE event is discarded, as the SSE specification requires) does not fail the call.
 * The SDK's own retries, logging and OpenTelemetry spans are off, and it reads no environment variable.
 * The Messages API does not use inputs or outputs to train models by default.
 */
export class AnthropicProvider implements ModelProvider {
  readonly id = 'anthropic' as const;
  readonly #client: Anthropic;

  constructor(private readonly options: HttpProviderOptions) {
    this.#client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      webhookKey: null,
      timeout: options.timeoutMs,
      maxRetries: 0,
      fetch: activityFetch(options.fetch),
      logLevel: 'off',
      openTelemetry: false,
    });
  }

  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    const client = this.#client;
    const system = messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const body: MessageCreateParamsStreaming = {
      model: options.model,
      max_tokens: options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
      messages: messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content })),
      stream: true,
      ...(system === '' ? {} : { system }),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    };
    return createProviderStream(
      async function* anthropicAttempt({ signal, touch }) {
        const stream = await withActivity(touch, () =>
          client.messages.create(body, { signal, maxRetries: 0 }),
        );
        let model = options.model;
        let inputTokens = 0;
        let outputTokens = 0;
        let stopReason: string | undefined;
        for await (const event of stream) {
          switch (event.type) {
            case 'message_start': {
              const usage = event.message.usage;
              model = event.message.model || model;
              inputTokens =
                usage.input_tokens +
                (usage.cache_creation_input_tokens ?? 0) +
                (usage.cache_read_input_tokens ?? 0);
              outputTokens = usage.output_tokens;
              break;
            }
            case 'content_block_delta':
              if (event.delta.type === 'text_delta' && event.delta.text) yield event.delta.text;
              break;
            case 'message_delta': {
              const usage = event.usage;
              if (event.delta.stop_reason) stopReason = event.delta.stop_reason;
              outputTokens = usage.output_tokens;
              if (usage.input_tokens !== null && usage.input_tokens !== undefined) {
                inputTokens =
                  usage.input_tokens +
                  (usage.cache_creation_input_tokens ?? 0) +
                  (usage.cache_read_input_tokens ?? 0);
              }
              break;
            }
            default:
              break;
          }
        }
        // The SDK ends quietly when the connection is aborted; without a stop reason the answer is cut.
        if (signal.aborted) throw signal.reason;
        if (!stopReason) throw new ProviderError('provider_unavailable', 'anthropic');
        return {
          model,
          usage: { inputTokens, outputTokens },
          finishReason: STOP_REASONS[stopReason] ?? 'other',
        };
      },
      {
        provider: 'anthropic',
        signal: options.signal,
        idleTimeoutMs: options.idleTimeoutMs ?? this.options.idleTimeoutMs,
        retry: this.options.retry,
        onRetry: this.options.onRetry,
        sleep: this.options.sleep,
        random: this.options.random,
        classify: classifyAnthropicError,
      },
    );
  }
}
