import { z } from 'zod';

/**
 * Who serves a model: `openai` (OpenAI, or an OpenAI-compatible server such as Ollama or vLLM),
 * `anthropic`, or `mock`, the offline deterministic provider (its answers are not a model's).
 */
export const ProviderId = z.enum(['openai', 'anthropic', 'mock']);
export type ProviderId = z.infer<typeof ProviderId>;

/** Model tiers: `premium` models need a plan with premium models (Pro and above). */
export const ModelTier = z.enum(['standard', 'premium']);
export type ModelTier = z.infer<typeof ModelTier>;

/**
 * One model this server offers.
 *
 * - `id`: what to name in requests (`gpt-4o-mini`, `claude-haiku-4-5`, `mock`);
 * - `provider`, `tier`, `displayName`;
 * - `contextWindow`: tokens of prompt and output together; `maxOutputTokens`: the most it generates;
 * - `allowed`: whether the caller's plan may use it (`false`: a premium model on Free; using it answers
 *   403 `plan_limit_reached` with `upgrade: true`).
 */
export const Model = z.object({
  id: z.string().min(1),
  displayName: z.string(),
  provider: ProviderId,
  tier: ModelTier,
  contextWindow: z.number().int().positive(),
  maxOutputTokens: z.number().int().positive(),
  allowed: z.boolean(),
});
export type Model = z.infer<typeof Model>;

/**
 * Answer of `GET /api/v1/models`: every model this server offers (only those of configured providers;
 * the offline `mock` models always), in one response, and the model used when a request names none.
 */
export const ModelList = z.object({
  data: z.array(Model),
  defaultModel: z.string(),
});
export type ModelList = z.infer<typeof ModelList>;
