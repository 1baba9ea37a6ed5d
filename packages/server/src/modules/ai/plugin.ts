import fp from 'fastify-plugin';
import { offeredModels } from './models/catalogue.js';
import { ModelService } from './models/service.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import type { ModelProvider, ProviderId } from './providers/types.js';

/** The AI services of one app. */
export interface AiServices {
  /** The enabled model providers (`mock` always); `providers.get(model.provider)` streams a completion. */
  providers: ProviderRegistry;
  /** The offered models and the plan rule for premium models. */
  models: ModelService;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Model providers and the model catalogue (src/modules/ai/). */
    ai: AiServices;
  }
}

/** Options of {@link aiPlugin}. */
export interface AiPluginOptions {
  /** Providers that replace (or add to) the configured ones, for tests. */
  providers?: Partial<Record<ProviderId, ModelProvider>> | undefined;
}

/**
 * Decorates the app with `ai`: the providers the configuration enables and the models they offer. Every
 * retry of a provider call is logged at `warn` with safe fields only (provider, attempt, code, HTTP status,
 * delay): never the prompt, the output, the provider's error body or a key.
 */
export const aiPlugin = fp<AiPluginOptions>(
  async (app, options) => {
    const { ai } = app.config;
    const providers = createProviderRegistry(ai, {
      overrides: options.providers,
      onRetry: (event) => app.log.warn({ providerRetry: event }, 'AI provider call failed; retrying'),
    });
    app.decorate('ai', {
      providers,
      models: new ModelService({ db: app.db, offered: offeredModels(ai), defaultModel: ai.defaultModel }),
    });
  },
  { name: 'fleece-ai', dependencies: ['fleece-config', 'fleece-database'] },
);
