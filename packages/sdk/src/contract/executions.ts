import { z } from 'zod';
import { ProviderId } from './models.js';
import { PageQuery, pageOf } from './pagination.js';

/**
 * Executions (`/api/v1/executions`): runs of an agent, and runs of a flow (see ./flows.ts). A flow run has
 * `flowId` set, `parentId` null and no `model`/`provider`; each step it ran is a child execution with
 * `parentId` (the run), `flowId` and `step` (the step's name).
 *
 * - `POST /api/v1/agents/:id/execute` with an {@link ExecuteAgentRequest} starts one. Without streaming it
 *   answers 201 with the finished {@link Execution}. With `Accept: text/event-stream` or `stream: true` it
 *   answers a Server-Sent Events stream ({@link EXECUTION_EVENT_TYPES}). An `Idempotency-Key` header (1–255
 *   printable characters) makes retries safe: the same key answers the same execution (200), with no second
 *   run and no second quota charge.
 * - `GET /api/v1/executions` lists them, newest first, filtered by `agentId`, `flowId`, `status`;
 *   `GET /api/v1/executions/:id` returns one;
 * - `GET /api/v1/executions/:id/events` replays the stream of a running or finished execution, from the
 *   start or after `Last-Event-ID`, and follows it live until `done`;
 * - `POST /api/v1/executions/:id/cancel` cancels a queued or running execution (200, the execution; a
 *   finished one is returned unchanged).
 */

/** What an execution is doing: `queued` → `running` → `succeeded` | `failed` | `cancelled`. */
export const ExecutionStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

/** Path parameters of `/api/v1/executions/:id…`. */
export const ExecutionParams = z.strictObject({ id: z.string().min(1).max(100) });
export type ExecutionParams = z.infer<typeof ExecutionParams>;

/**
 * Most characters (UTF-16 code units, as JavaScript's `String.length` counts them) an execution's input may
 * have: the execute route's limit, and the limit of a flow step's input after its template is filled.
 */
export const EXECUTION_INPUT_MAX_CHARS = 100_000;

/** Body of `POST /api/v1/agents/:id/execute`: the user message (1–100,000 characters), and streaming. */
export const ExecuteAgentRequest = z.strictObject({
  input: z.string().min(1).max(EXECUTION_INPUT_MAX_CHARS),
  stream: z.boolean().optional(),
});
export type ExecuteAgentRequest = z.infer<typeof ExecuteAgentRequest>;

/** Query of `GET /api/v1/executions`: the page, and optional filters. */
export const ExecutionListQuery = PageQuery.extend({
  agentId: z.string().min(1).max(100).optional(),
  flowId: z.string().min(1).max(100).optional(),
  /** The steps of one flow run. */
  parentId: z.string().min(1).max(100).optional(),
  status: ExecutionStatus.optional(),
});
export type ExecutionListQuery = z.infer<typeof ExecutionListQuery>;

/** Tokens an execution consumed, as the provider reported them. */
export const ExecutionUsage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type ExecutionUsage = z.infer<typeof ExecutionUsage>;

/**
 * One execution. `output`, `usage`, `finishReason` are `null` until it succeeds; `error` is set when it
 * failed (a safe `code`, such as `provider_unavailable`, and a message; for a flow run that failed in a
 * step, `code` is `step_failed` and `step` names the step); `durationMs` counts from start to finish.
 * A flow run's `output` is its last step's, its `usage` the sum of its steps'. Times are ISO 8601 UTC.
 */
export const Execution = z.object({
  id: z.string().regex(/^exe_[0-9a-z]{24}$/),
  agentId: z.string().nullable(),
  flowId: z.string().nullable(),
  /** The flow run this execution is a step of; `null` for an agent execution or a flow run. */
  parentId: z.string().nullable(),
  /** The name of the flow step this execution ran; `null` unless `parentId` is set. */
  step: z.string().nullable(),
  status: ExecutionStatus,
  /** The model that ran; `null` for a flow run (each step has its own). */
  model: z.string().nullable(),
  provider: ProviderId.nullable(),
  input: z.string(),
  output: z.string().nullable(),
  usage: ExecutionUsage.nullable(),
  finishReason: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), step: z.string().optional() }).nullable(),
  durationMs: z.number().int().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Execution = z.infer<typeof Execution>;

/** One page of executions, newest first. */
export const ExecutionPage = pageOf(Execution);
export type ExecutionPage = z.infer<typeof ExecutionPage>;

/**
 * The events of an execution stream, each with `id:` (1, 2, … in order), in this order:
 * `execution.started` (the execution, `running`), `output.delta` (`{ text }`, several), then one of
 * `execution.completed` / `execution.failed` / `execution.cancelled` (the final execution), then `done`
 * (`{ status }`). A `: ping` comment is sent every {@link EXECUTION_STREAM_HEARTBEAT_SECONDS} s.
 */
export const EXECUTION_EVENT_TYPES = [
  'execution.started',
  'output.delta',
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
  'done',
] as const;
export type ExecutionEventType = (typeof EXECUTION_EVENT_TYPES)[number];

/** Seconds between two `: ping` comments on an idle execution stream. */
export const EXECUTION_STREAM_HEARTBEAT_SECONDS = 15;

/** `data` of each execution stream event type. */
export const ExecutionEventSchemas = {
  'execution.started': Execution,
  'output.delta': z.object({ text: z.string() }),
  'execution.completed': Execution,
  'execution.failed': Execution,
  'execution.cancelled': Execution,
  done: z.object({ status: ExecutionStatus }),
} as const;
