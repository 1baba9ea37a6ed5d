import { z } from 'zod';
import { pageOf } from './pagination.js';

/**
 * Agents (`/api/v1/agents`): a system prompt (`instructions`) with a model and sampling settings, run with
 * `POST /api/v1/agents/:id/execute` (see ./executions.ts).
 *
 * - `POST /api/v1/agents` creates one from a {@link CreateAgentRequest} (201 {@link Agent}); the plan's
 *   agent count applies (403 `plan_limit_reached`, `limit: 'agents'`);
 * - `GET /api/v1/agents` lists them, newest first ({@link AgentPage}); `GET /api/v1/agents/:id` returns one;
 * - `PATCH /api/v1/agents/:id` changes the fields given ({@link UpdateAgentRequest});
 * - `DELETE /api/v1/agents/:id` deletes one (204; its executions stay, with `agentId: null`).
 *
 * Another user's agent answers 404 exactly as a missing one.
 */

/** An agent id: `agt_` and 24 characters of `[0-9a-z]`. */
export const AgentId = z.string().regex(/^agt_[0-9a-z]{24}$/, 'an agent id (agt_…)');

/** Path parameters of `/api/v1/agents/:id…`. */
export const AgentParams = z.strictObject({ id: z.string().min(1).max(100) });
export type AgentParams = z.infer<typeof AgentParams>;

const fields = {
  /** 1–100 characters. */
  name: z.string().trim().min(1).max(100),
  /** Up to 1,000 characters. */
  description: z.string().max(1_000),
  /** The system prompt, up to 32,000 characters. */
  instructions: z.string().max(32_000),
  /** A model id of `GET /api/v1/models`; `null` (or omitted) uses the deployment's default model. */
  model: z.string().min(1).max(200).nullable(),
  /** Sampling temperature 0–2; `null` leaves it to the provider. */
  temperature: z.number().min(0).max(2).nullable(),
  /** Upper bound on generated tokens (1–100,000); `null` leaves it to the provider. */
  maxOutputTokens: z.number().int().min(1).max(100_000).nullable(),
};

/** Body of `POST /api/v1/agents`: `name` is required; the rest default to empty or `null`. */
export const CreateAgentRequest = z.strictObject({
  name: fields.name,
  description: fields.description.optional(),
  instructions: fields.instructions.optional(),
  model: fields.model.optional(),
  temperature: fields.temperature.optional(),
  maxOutputTokens: fields.maxOutputTokens.optional(),
});
export type CreateAgentRequest = z.infer<typeof CreateAgentRequest>;

/** Body of `PATCH /api/v1/agents/:id`: the fields to change (at least one). */
export const UpdateAgentRequest = CreateAgentRequest.partial().refine((v) => Object.keys(v).length > 0, {
  message: 'name at least one field to change',
});
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

/** One agent as the API shows it. Times are ISO 8601 UTC. */
export const Agent = z.object({
  id: AgentId,
  name: z.string(),
  description: z.string(),
  instructions: z.string(),
  model: z.string().nullable(),
  temperature: z.number().nullable(),
  maxOutputTokens: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Agent = z.infer<typeof Agent>;

/** One page of agents, newest first. */
export const AgentPage = pageOf(Agent);
export type AgentPage = z.infer<typeof AgentPage>;
