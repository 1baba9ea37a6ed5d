/**
 * The model catalogue: every model Fleece knows, as one typed table, and the subset a configuration
 * offers. Ids are the providers' own (aliases that follow the latest snapshot), so they are sent upstream
 * as they are.
 */
import type { ModelTier } from '@fleece/sdk/contract';
import type { AiConfig } from '../../../config.js';
import type { ProviderId } from '../providers/types.js';

/**
 * One model: `id` (sent to the provider), `displayName`, `provider`, `tier` (`premium` needs a plan with
 * premium models), `contextWindow` (tokens of prompt and output together) and `maxOutputTokens` (the most
 * it generates in one answer).
 */
export interface ModelInfo {
  id: string;
  displayName: string;
  provider: ProviderId;
  tier: ModelTier;
  contextWindow: number;
  maxOutputTokens: number;
}

/** Context window assumed for a model of an OpenAI-compatible server listed without one, in tokens. */
export const DEFAULT_LISTED_CONTEXT_WINDOW = 8_192;

/** Output limit assumed for a model of an OpenAI-compatible server, in tokens. */
export const DEFAULT_LISTED_MAX_OUTPUT_TOKENS = 4_096;

/**
 * Every built-in model, in the order they are listed. The two `mock` models are served offline by the mock
 * provider; `mock-premium` exists so that plan gating can be seen and tested without a provider key.
 */
export const MODELS: readonly ModelInfo[] = [
  {
    id: 'gpt-4o-mini',
    displayName: 'GPT-4o mini',
    provider: 'openai',
    tier: 'standard',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
  },
  {
    id: 'gpt-4.1-mini',
    displayName: 'GPT-4.1 mini',
    provider: 'openai',
    tier: 'standard',
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
  },
  {
    id: 'gpt-4.1',
    displayName: 'GPT-4.1',
    provider: 'openai',
    tier: 'premium',
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
  },
  {
    id: 'gpt-4o',
    displayName: 'GPT-4o',
    provider: 'openai',
    tier: 'premium',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
  },
  {
    id: 'claude-haiku-4-5',
    displayName: 'Claude Haiku 4.5',
    provider: 'anthropic',
    tier: 'standard',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: 'claude-sonnet-4-5',
    displayName: 'Claude Sonnet 4.5',
    provider: 'anthropic',
    tier: 'premium',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: 'mock',
    displayName: 'Mock (offline, deterministic)',
    provider: 'mock',
    tier: 'standard',
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
  },
  {
    id: 'mock-premium',
    displayName: 'Mock premium (offline, deterministic)',
    provider: 'mock',
    tier: 'premium',
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
  },
];

/**
 * The models a configuration offers, in catalogue order: the OpenAI models when `OPENAI_API_KEY` is set (or,
 * with `FLEECE_OPENAI_MODELS`, exactly the listed ones: a known id keeps its entry unless a context window
 * is given, an unknown one is a standard model), the Anthropic models when `ANTHROPIC_API_KEY` is set,
 * and the mock models always.
 */
export function offeredModels(ai: Pick<AiConfig, 'openai' | 'anthropic'>): ModelInfo[] {
  const offered: ModelInfo[] = [];
  if (ai.openai?.models) {
    for (const listed of ai.openai.models) {
      const known = MODELS.find((m) => m.provider === 'openai' && m.id === listed.id);
      offered.push({
        id: listed.id,
        displayName: known?.displayName ?? listed.id,
        provider: 'openai',
        tier: known?.tier ?? 'standard',
        contextWindow: listed.contextWindow ?? known?.contextWindow ?? DEFAULT_LISTED_CONTEXT_WINDOW,
        maxOutputTokens: known?.maxOutputTokens ?? DEFAULT_LISTED_MAX_OUTPUT_TOKENS,
      });
    }
  } else if (ai.openai) {
    offered.push(...MODELS.filter((m) => m.provider === 'openai'));
  }
  if (ai.anthropic) offered.push(...MODELS.filter((m) => m.provider === 'anthropic'));
  offered.push(...MODELS.filter((m) => m.provider === 'mock'));
  return offered;
}

/**
 * The default model of a set of offered models: the first standard one of the first enabled provider in
 * the order OpenAI, Anthropic, mock (so `mock` when no provider key is set).
 */
export function defaultModelOf(offered: readonly ModelInfo[]): string {
  for (const provider of ['openai', 'anthropic', 'mock'] as const) {
    const model = offered.find((m) => m.provider === provider && m.tier === 'standard');
    if (model) return model.id;
  }
  return 'mock';
}
