import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { classifySdkError, ProviderError } from './errors.js';
import { activityFetch, withActivity } from './idle.js';
import { createProviderStream, type HttpProviderOptions } from './stream.js';
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

/** OpenAI's own API; any other base URL is an OpenAI-compatible server (Ollama, vLLM, …). */
export const OPENAI_API_URL = 'https://api.openai.com/v1';

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
};

/** Maps what the OpenAI SDK throws to a safe {@link ProviderError} (see {@link classifySdkError}). */
export function classifyOpenAIError(error: unknown): ProviderError {
  return classifySdkError(error, 'openai', {
    APIConnectionTimeoutError,
    APIUserAbortError,
    APIConnectionError,
    APIError,
  });
}

/**
 * The OpenAI adapter: Chat Completions through the official `openai` SDK, streamed
 * (`stream: true` with `stream_options.include_usage`, so the last chunk before `data: [DONE]` reports
 * usage). Every request sets `store: false`: OpenAI keeps no copy of the completion for its dashboard,
 * evals or distillation. The SDK's own retries are off (the stream engine retries, before the first
 * delta only), its logging is off (it would print response bodies), and it reads no environment variable:
 * the key and base URL come from the server's configuration.
 *
 * With a base URL other than {@link OPENAI_API_URL} (Ollama, vLLM) the output limit is sent as
 * `max_tokens`, which those servers understand; OpenAI itself gets `max_completion_tokens`. A server that
 * reports no usage gets it estimated (≈4 characters a token).
 */
export class OpenAIProvider implements ModelProvider {
  readonly id = 'openai' as const;
  readonly #client: OpenAI;
  readonly #official: boolean;

  constructor(private readonly options: HttpProviderOptions) {
    this.#official = options.baseURL === OPENAI_API_URL;
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      organization: null,
      project: null,
      webhookSecret: null,
      timeout: options.timeoutMs,
      maxRetries: 0,
      fetch: activityFetch(options.fetch),
      logLevel: 'off',
    });
  }

  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    const client = this.#client;
    const body: ChatCompletionCreateParamsStreaming = {
      model: options.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      stream: true,
      stream_options: { include_usage: true },
      store: false,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.maxOutputTokens === undefined
        ? {}
        : this.#official
          ? { max_completion_tokens: options.maxOutputTokens }
          : { max_tokens: options.maxOutputTokens }),
    };
    return createProviderStream(
      async function* openaiAttempt({ signal, touch }) {
        const stream = await withActivity(touch, () =>
          client.chat.completions.create(body, { signal, maxRetries: 0 }),
        );
        let model = options.model;
        let finish: string | undefined;
        let usage: TokenUsage | undefined;
        let text = '';
        for await (const chunk of stream) {
          if (chunk.model) model = chunk.model;
          if (chunk.usage) {
            usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
          }
          // vLLM sends the usage chunk with `choices: null`.
          for (const choice of chunk.choices ?? []) {
            if (choice.index !== 0) continue;
            const content = choice.delta?.content;
            if (content) {
              text += content;
              yield content;
            }
            if (choice.finish_reason) finish = choice.finish_reason;
          }
        }
        // The SDK ends quietly when the connection is aborted; without a finish reason the answer is cut.
        if (signal.aborted) throw signal.reason;
        if (!finish) throw new ProviderError('provider_unavailable', 'openai');
        return {
          model,
          usage: usage ?? { inputTokens: estimatePromptTokens(messages), outputTokens: estimateTokens(text) },
          finishReason: FINISH_REASONS[finish] ?? 'other',
        };
      },
      {
        provider: 'openai',
        signal: options.signal,
        idleTimeoutMs: options.idleTimeoutMs ?? this.options.idleTimeoutMs,
        retry: this.options.retry,
        onRetry: this.options.onRetry,
        sleep: this.options.sleep,
        random: this.options.random,
        classify: classifyOpenAIError,
      },
    );
  }
}
