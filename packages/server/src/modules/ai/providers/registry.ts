import type { AiConfig } from '../../../config.js';
import { AnthropicProvider } from './anthropic.js';
import type { Fetch } from './idle.js';
import { MockProvider } from './mock.js';
import { OpenAIProvider } from './openai.js';
import type { RetryPolicy } from './retry.js';
import type { RetryEvent } from './stream.js';
import type { ModelProvider, ProviderId } from './types.js';

/** Options of {@link createProviderRegistry}. */
export interface ProviderRegistryOptions {
  /** Providers that replace (or add to) the configured ones: tests plug in scripted or failing providers. */
  overrides?: Partial<Record<ProviderId, ModelProvider>> | undefined;
  /** Told about every retry, in safe fields only (the app logs them at `warn`). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** The `fetch` under the SDKs; default the global one, looked up per request. */
  fetch?: Fetch | undefined;
  /** Default {@link DEFAULT_RETRY_POLICY}. */
  retry?: RetryPolicy | undefined;
}

/** The enabled providers of one app, by id. */
export class ProviderRegistry {
  readonly #providers: ReadonlyMap<ProviderId, ModelProvider>;

  constructor(providers: Iterable<ModelProvider>) {
    this.#providers = new Map([...providers].map((p) => [p.id, p]));
  }

  /** The provider `id`, or `undefined` when it is not enabled. */
  get(id: ProviderId): ModelProvider | undefined {
    return this.#providers.get(id);
  }

  /** Ids of the enabled providers; `mock` is always among them. */
  get enabled(): ProviderId[] {
    return [...this.#providers.keys()];
  }
}

/**
 * The providers a configuration enables: OpenAI when `OPENAI_API_KEY` is set, Anthropic when
 * `ANTHROPIC_API_KEY` is set, and the offline mock always. Keys and base URLs come from the configuration
 * only (the SDKs are kept from reading the environment themselves).
 */
export function createProviderRegistry(
  ai: AiConfig,
  options: ProviderRegistryOptions = {},
): ProviderRegistry {
  const common = {
    timeoutMs: ai.timeoutMs,
    idleTimeoutMs: ai.idleTimeoutMs,
    retry: options.retry,
    onRetry: options.onRetry,
    fetch: options.fetch,
  };
  const providers: ModelProvider[] = [
    new MockProvider({ idleTimeoutMs: ai.idleTimeoutMs, onRetry: options.onRetry }),
  ];
  if (ai.openai)
    providers.push(new OpenAIProvider({ ...common, apiKey: ai.openai.apiKey, baseURL: ai.openai.baseURL }));
  if (ai.anthropic) providers.push(new AnthropicProvider({ ...common, ...ai.anthropic }));
  providers.push(...Object.values(options.overrides ?? {}));
  return new ProviderRegistry(providers);
}
