import { z } from 'zod';
import { AgentId } from './agents.js';
import { EXECUTION_INPUT_MAX_CHARS, Execution } from './executions.js';
import { pageOf } from './pagination.js';

/**
 * Flows (`/api/v1/flows`): an ordered list of steps, each running an agent on an input built from a
 * template. A template may use `{{input}}` (the run's input) and `{{steps.<name>.output}}` (the output of
 * an earlier step); anything else between `{{` and `}}`, an unknown step, or a step that comes later is
 * refused when the flow is saved (400 `validation_failed`, naming the step and the reference).
 *
 * - `POST /api/v1/flows` creates one from a {@link CreateFlowRequest} (201 {@link CreatedFlow}: with a
 *   `callbackUrl`, the response carries the webhook signing secret `callbackSecret`, shown this once);
 * - `GET /api/v1/flows` lists them, newest first ({@link FlowPage}); `GET /api/v1/flows/:id` returns one;
 * - `PATCH /api/v1/flows/:id` changes the fields given ({@link UpdateFlowRequest});
 * - `DELETE /api/v1/flows/:id` deletes one and its schedule (204; its runs stay, with `flowId: null`);
 * - `POST /api/v1/flows/:id/trigger` with a {@link TriggerFlowRequest} queues a run: 202 with the run's
 *   {@link Execution} (`queued`); 409 `flow_already_running` while a run of the flow is queued or running;
 *   5 per minute per user; a worker runs the steps in order, each as a child execution. An
 *   `Idempotency-Key` header (see ./idempotency.ts) makes retries safe: the same key answers the
 *   same run (200, as it is now), with no second run;
 * - `GET /api/v1/flows/:id/executions` lists the flow's runs, newest first ({@link FlowRunPage}).
 *
 * Another user's flow answers 404 exactly as a missing one.
 */

/** A flow id: `flw_` and 24 characters of `[0-9a-z]`. */
export const FlowId = z.string().regex(/^flw_[0-9a-z]{24}$/, 'a flow id (flw_…)');

/** Path parameters of `/api/v1/flows/:id…`. */
export const FlowParams = z.strictObject({ id: z.string().min(1).max(100) });
export type FlowParams = z.infer<typeof FlowParams>;

/** Most steps a flow may have. */
export const FLOW_MAX_STEPS = 20;

/** A step name: 1–64 letters, digits, `_` or `-`, starting with a letter or digit; unique in its flow. */
export const FlowStepName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'a step name: 1–64 letters, digits, _ or -');

/**
 * Most `{{…}}` placeholders one step's input template may have (checked when the flow is saved: 400
 * `validation_failed` naming the step). The filled-in input is limited too, to
 * {@link EXECUTION_INPUT_MAX_CHARS}: a run whose step input would be longer fails with
 * `step_input_too_large`.
 */
export const FLOW_TEMPLATE_MAX_PLACEHOLDERS = 100;

/**
 * One step: its `name` (what later templates refer to), the agent it runs, and its input template
 * (1–100,000 characters; `{{input}}` and `{{steps.<name>.output}}` are replaced at run time, at most
 * {@link FLOW_TEMPLATE_MAX_PLACEHOLDERS} of them; the filled-in input may have at most
 * {@link EXECUTION_INPUT_MAX_CHARS} characters).
 */
export const FlowStep = z.strictObject({
  name: FlowStepName,
  agentId: AgentId,
  input: z.string().min(1).max(EXECUTION_INPUT_MAX_CHARS),
});
export type FlowStep = z.infer<typeof FlowStep>;

/**
 * What every refused schedule says, first (an empty one, a long one, a wrong number of fields, a field out
 * of range), so that a user sees one clear sentence whatever was wrong.
 */
export const FLOW_SCHEDULE_EXPECTED =
  "expected a cron expression of 5 fields (minute hour day month weekday), e.g. '0 6 * * 1-5'";

/**
 * A cron expression of five fields (minute hour day-of-month month day-of-week), read in UTC, such as
 * `0 6 * * 1-5` (weekdays at 06:00 UTC); at most 100 characters. The server checks it with cron-parser
 * when the flow is saved; every refusal starts with {@link FLOW_SCHEDULE_EXPECTED}.
 */
export const FlowSchedule = z
  .string()
  .trim()
  .min(1, FLOW_SCHEDULE_EXPECTED)
  .max(100, `${FLOW_SCHEDULE_EXPECTED} (at most 100 characters)`);

const fields = {
  /** 1–100 characters. */
  name: z.string().trim().min(1).max(100),
  /** Up to 1,000 characters. */
  description: z.string().max(1_000),
  /** 1–20 steps, run in order. */
  steps: z.array(FlowStep).min(1).max(FLOW_MAX_STEPS),
  /** A {@link FlowSchedule}; `null` for none. */
  schedule: FlowSchedule.nullable(),
  /** The `{{input}}` of scheduled runs, up to 100,000 characters. */
  scheduleInput: z.string().max(EXECUTION_INPUT_MAX_CHARS),
  /**
   * Where Fleece POSTs the signed result of each run (`https` in production; public addresses only);
   * `null` for none. Setting a new URL issues a new signing secret.
   */
  callbackUrl: z.string().min(1).max(2048).nullable(),
};

/** Body of `POST /api/v1/flows`: `name` and `steps` are required. */
export const CreateFlowRequest = z.strictObject({
  name: fields.name,
  description: fields.description.optional(),
  steps: fields.steps,
  schedule: fields.schedule.optional(),
  scheduleInput: fields.scheduleInput.optional(),
  callbackUrl: fields.callbackUrl.optional(),
});
export type CreateFlowRequest = z.infer<typeof CreateFlowRequest>;

/** Body of `PATCH /api/v1/flows/:id`: the fields to change (at least one); `steps` replaces all steps. */
export const UpdateFlowRequest = CreateFlowRequest.partial().refine((v) => Object.keys(v).length > 0, {
  message: 'name at least one field to change',
});
export type UpdateFlowRequest = z.infer<typeof UpdateFlowRequest>;

/** One flow as the API shows it. `hasCallbackSecret` says a signing secret exists (it is never shown again). */
export const Flow = z.object({
  id: FlowId,
  name: z.string(),
  description: z.string(),
  steps: z.array(FlowStep),
  schedule: z.string().nullable(),
  scheduleInput: z.string(),
  callbackUrl: z.string().nullable(),
  hasCallbackSecret: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Flow = z.infer<typeof Flow>;

/**
 * The answer to `POST /api/v1/flows` (and to a `PATCH` that sets a new `callbackUrl`): the flow, plus the
 * webhook signing secret (`whsec_…`) when a callback URL was set. The secret is shown only here: store it
 * to verify the `Fleece-Signature` header of callbacks.
 */
export const CreatedFlow = Flow.extend({ callbackSecret: z.string().optional() });
export type CreatedFlow = z.infer<typeof CreatedFlow>;

/** One page of flows, newest first. */
export const FlowPage = pageOf(Flow);
export type FlowPage = z.infer<typeof FlowPage>;

/** Body of `POST /api/v1/flows/:id/trigger`: the run's `{{input}}` (1–100,000 characters). */
export const TriggerFlowRequest = z.strictObject({ input: z.string().min(1).max(EXECUTION_INPUT_MAX_CHARS) });
export type TriggerFlowRequest = z.infer<typeof TriggerFlowRequest>;

/** One page of a flow's runs (executions without a parent), newest first. */
export const FlowRunPage = pageOf(Execution);
export type FlowRunPage = z.infer<typeof FlowRunPage>;
