import type {
  CreatedFlow,
  CreateFlowRequest,
  Execution,
  Flow,
  FlowPage,
  FlowRunPage,
  FlowStep,
  UpdateFlowRequest,
} from '@fleece/sdk/contract';
import { FLOW_SCHEDULE_EXPECTED } from '@fleece/sdk/contract';
import { CronExpressionParser } from 'cron-parser';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { decodeCursor, encodeCursor, newestFirst, olderThan, pageOf } from '../../db/pagination.js';
import { agents, executions } from '../../db/schema/ai.js';
import { flows } from '../../db/schema/flows.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/secrets.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { ExecutionService } from '../executions/service.js';
import type { EntitlementsService } from '../plans/entitlements.js';
import { assertAccountActive, planLimitProblem } from '../plans/entitlements.js';
import type { SigningSecretAnswer } from '../webhooks/service.js';
import { type CallbackUrlConfig, createSigningSecret, validateCallbackUrl } from '../webhooks/url.js';
import { checkSteps } from './templates.js';

type FlowRow = typeof flows.$inferSelect;

/** The job queue that runs one flow run (data: {@link FlowRunJob}). */
export const FLOW_RUN_JOB = 'flow.run';
/** The job queue that cron schedules of flows send to (data: {@link FlowScheduleJob}; key: the flow id). */
export const FLOW_SCHEDULE_JOB = 'flow.scheduled';

/** The data of a `flow.run` job: ids only, nothing the user wrote. */
export interface FlowRunJob {
  userId: string;
  executionId: string;
}

/** The data of a `flow.scheduled` job. */
export interface FlowScheduleJob {
  userId: string;
  flowId: string;
}

/** How a run was started, as `flow.triggered` records it. */
export type FlowTrigger = 'api' | 'schedule';

/** The outcome of {@link FlowService.trigger}. */
export interface TriggeredRun {
  /** The run: queued by this call, or (replayed) as it is now. */
  run: Execution;
  /** `true` when the `Idempotency-Key` named a run already triggered: nothing new was queued. */
  replayed: boolean;
}

/** The refusal of an `Idempotency-Key` already used for another request (as the execute route answers). */
function keyReused(): ProblemError {
  return new ProblemError(
    'validation_failed',
    'The request is not valid: headers.idempotency-key: already used for a different request; use a new key.',
    { errors: [{ path: 'headers.idempotency-key', message: 'already used for a different request' }] },
  );
}

/** The additional authenticated data of a flow's sealed callback signing secret. */
export function callbackSecretAad(flowId: string): string {
  return `flow:${flowId}:callback_secret`;
}

const notFound = () => new ProblemError('not_found', 'No such flow.');

/** The wire form of a flow row (never its signing secret). */
export function presentFlow(row: FlowRow): Flow {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    steps: row.steps.map((s) => ({ name: s.name, agentId: s.agentId, input: s.input })),
    schedule: row.schedule,
    scheduleInput: row.scheduleInput,
    callbackUrl: row.callbackUrl,
    hasCallbackSecret: row.callbackSecret !== null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Checks a 5-field cron expression with cron-parser (the parser pg-boss evaluates schedules with). Every
 * refusal starts with the same {@link FLOW_SCHEDULE_EXPECTED} sentence, then says what was wrong.
 * @throws {ProblemError} 400 `validation_failed` naming `schedule`.
 */
export function checkSchedule(schedule: string): string {
  const expression = schedule.trim().replace(/\s+/g, ' ');
  const fields = expression === '' ? 0 : expression.split(' ').length;
  let reason: string | undefined;
  if (fields !== 5) {
    reason = `${FLOW_SCHEDULE_EXPECTED}; got ${fields} field${fields === 1 ? '' : 's'}`;
  } else {
    try {
      CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
    } catch (error) {
      reason = `${FLOW_SCHEDULE_EXPECTED}; ${(error as Error).message}`;
    }
  }
  if (reason) {
    throw new ProblemError('validation_failed', `The request is not valid: schedule: ${reason}.`, {
      errors: [{ path: 'schedule', message: reason }],
    });
  }
  return expression;
}

/** What {@link FlowService} is built from (its dependencies and settings). */
export interface FlowServiceOptions {
  db: Db;
  clock: Clock;
  keyring: Keyring;
  audit: AuditService;
  entitlements: EntitlementsService;
  executions: ExecutionService;
  jobs: JobQueue;
  config: CallbackUrlConfig;
}

/**
 * Flows (issue 6): CRUD with templates checked at save, cron schedules kept in pg-boss (written in the same
 * transaction as the flow, keyed by the flow id), callback URLs checked by the webhooks module with a
 * signing secret generated here, sealed (AES-256-GCM, `flow:<id>:callback_secret`) and shown once; and
 * {@link trigger}: one queued run per flow at a time, enqueued on `flow.run` in the run's own transaction.
 * Every change is audited (`flow.created|updated|deleted|triggered`) in its transaction, every query runs
 * in the owner's row-level security scope, and another user's flow is indistinguishable from a missing one.
 *
 * Quota: a run itself counts nothing; each step is one agent execution and counts one unit of the monthly
 * execution quota when it starts. A trigger is refused (403 `plan_limit_reached`) when fewer units remain
 * this month than the flow has steps.
 */
export class FlowService {
  constructor(private readonly deps: FlowServiceOptions) {}

  /**
   * Checks steps (templates, unique names) and that every agent they name is `userId`'s, inside `tx`.
   * @throws {ProblemError} 400 `validation_failed` naming the step and the reference or agent.
   */
  private async checkSteps(tx: Db, userId: string, steps: readonly FlowStep[]): Promise<void> {
    const errors = checkSteps(steps);
    const ids = [...new Set(steps.map((s) => s.agentId))];
    const found = new Set(
      (
        await tx
          .select({ id: agents.id })
          .from(agents)
          .where(and(eq(agents.userId, userId), inArray(agents.id, ids)))
      ).map((r) => r.id),
    );
    steps.forEach((step, i) => {
      if (!found.has(step.agentId)) {
        errors.push({
          path: `steps[${i}].agentId`,
          message: `step "${step.name}" names agent ${step.agentId}, which does not exist`,
        });
      }
    });
    if (errors.length > 0) {
      throw new ProblemError('validation_failed', `The flow is not valid: ${errors[0]!.message}.`, {
        errors,
      });
    }
  }

  /** A new signing secret for flow `id`: the plaintext (shown once) and its sealed form. */
  private newSecret(id: string): { plaintext: string; sealed: Buffer; keyId: string } {
    const plaintext = createSigningSecret();
    const key = this.deps.keyring.current;
    return { plaintext, sealed: encrypt(key, plaintext, callbackSecretAad(id)), keyId: key.id };
  }

  /** Keeps pg-boss's schedule of flow `row` in step with it, inside `tx`. */
  private async syncSchedule(tx: Db, row: FlowRow): Promise<void> {
    if (row.schedule) {
      const data: FlowScheduleJob = { userId: row.userId, flowId: row.id };
      await this.deps.jobs.schedule(FLOW_SCHEDULE_JOB, row.schedule, data, { key: row.id, tx });
    } else {
      await this.deps.jobs.unschedule(FLOW_SCHEDULE_JOB, row.id, { tx });
    }
  }

  /**
   * Creates a flow for `userId` and records `flow.created`. With a `callbackUrl`, the answer carries the
   * signing secret (`callbackSecret`), which is never shown again.
   *
   * @throws {ProblemError} 400 `validation_failed` (templates, step names, agents, schedule), 400
   *   `invalid_callback_url`.
   */
  async create(ctx: AuditContext, userId: string, input: CreateFlowRequest): Promise<CreatedFlow> {
    const schedule = input.schedule ? checkSchedule(input.schedule) : null;
    if (input.callbackUrl) validateCallbackUrl(input.callbackUrl, this.deps.config);
    const now = this.deps.clock.now();
    const id = newId('flw');
    const secret = input.callbackUrl ? this.newSecret(id) : undefined;
    const row = await withUser(this.deps.db, userId, async (tx) => {
      await this.checkSteps(tx, userId, input.steps);
      const [row] = await tx
        .insert(flows)
        .values({
          id,
          userId,
          name: input.name,
          description: input.description ?? '',
          steps: input.steps,
          schedule,
          scheduleInput: input.scheduleInput ?? '',
          callbackUrl: input.callbackUrl ?? null,
          callbackSecret: secret?.sealed ?? null,
          callbackKeyId: secret?.keyId ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      await this.syncSchedule(tx, row!);
      // Names, templates and URLs are the user's free text: they stay out of the insert-only log.
      await this.deps.audit.record(tx, ctx, {
        action: 'flow.created',
        resourceType: 'flow',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { steps: input.steps.length, scheduled: schedule !== null, callback: secret !== undefined },
      });
      return row!;
    });
    return { ...presentFlow(row), ...(secret ? { callbackSecret: secret.plaintext } : {}) };
  }

  /** One page of `userId`'s flows, newest first. */
  async list(userId: string, limit: number, cursor: string | undefined): Promise<FlowPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'flw');
    const rows = await withUser(this.deps.db, userId, (tx) =>
      tx
        .select()
        .from(flows)
        .where(and(eq(flows.userId, userId), olderThan(flows.createdAt, flows.id, after)))
        .orderBy(...newestFirst(flows.createdAt, flows.id))
        .limit(limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, limit, encodeCursor);
    return { data: page.map(presentFlow), nextCursor };
  }

  private async row(tx: Db, userId: string, id: string, lock = false): Promise<FlowRow | undefined> {
    const query = tx
      .select()
      .from(flows)
      .where(and(eq(flows.id, id), eq(flows.userId, userId)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  /** Flow `id` of `userId`; `undefined` when `userId` has none. */
  async get(userId: string, id: string): Promise<Flow | undefined> {
    const row = await withUser(this.deps.db, userId, (tx) => this.row(tx, userId, id));
    return row && presentFlow(row);
  }

  /**
   * Changes the fields given and records `flow.updated`. A new `callbackUrl` issues a new signing secret
   * (returned once, as on create); `callbackUrl: null` removes the callback and its secret. Changing
   * `schedule` reschedules at once; `null` unschedules.
   *
   * @returns `undefined` when `userId` has no flow `id`.
   * @throws {ProblemError} as {@link create}.
   */
  async update(
    ctx: AuditContext,
    userId: string,
    id: string,
    input: UpdateFlowRequest,
  ): Promise<CreatedFlow | undefined> {
    const schedule =
      input.schedule === undefined
        ? undefined
        : input.schedule === null
          ? null
          : checkSchedule(input.schedule);
    if (input.callbackUrl) validateCallbackUrl(input.callbackUrl, this.deps.config);
    let plaintext: string | undefined;
    const row = await withUser(this.deps.db, userId, async (tx) => {
      const existing = await this.row(tx, userId, id, true);
      if (!existing) return undefined;
      if (input.steps) await this.checkSteps(tx, userId, input.steps);
      const changes: Partial<typeof flows.$inferInsert> = { updatedAt: this.deps.clock.now() };
      if (input.name !== undefined) changes.name = input.name;
      if (input.description !== undefined) changes.description = input.description;
      if (input.steps !== undefined) changes.steps = input.steps;
      if (schedule !== undefined) changes.schedule = schedule;
      if (input.scheduleInput !== undefined) changes.scheduleInput = input.scheduleInput;
      if (input.callbackUrl !== undefined && input.callbackUrl !== existing.callbackUrl) {
        const secret = input.callbackUrl ? this.newSecret(id) : undefined;
        plaintext = secret?.plaintext;
        changes.callbackUrl = input.callbackUrl;
        changes.callbackSecret = secret?.sealed ?? null;
        changes.callbackKeyId = secret?.keyId ?? null;
      }
      const [row] = await tx.update(flows).set(changes).where(eq(flows.id, id)).returning();
      if (schedule !== undefined) await this.syncSchedule(tx, row!);
      await this.deps.audit.record(tx, ctx, {
        action: 'flow.updated',
        resourceType: 'flow',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: {
          fields: Object.keys(input).sort(),
          ...(plaintext ? { secretRotated: true } : {}),
        },
      });
      return row!;
    });
    if (!row) return undefined;
    return { ...presentFlow(row), ...(plaintext ? { callbackSecret: plaintext } : {}) };
  }

  /**
   * Deletes flow `id` of `userId` and its schedule, and records `flow.deleted`. Its runs stay (with
   * `flowId: null`); a run in progress finishes its current step and then fails with `flow_deleted`.
   * @returns `false` when `userId` has no flow `id`.
   */
  async delete(ctx: AuditContext, userId: string, id: string): Promise<boolean> {
    return withUser(this.deps.db, userId, async (tx) => {
      const [row] = await tx
        .delete(flows)
        .where(and(eq(flows.id, id), eq(flows.userId, userId)))
        .returning({ id: flows.id });
      if (!row) return false;
      await this.deps.jobs.unschedule(FLOW_SCHEDULE_JOB, id, { tx });
      await this.deps.audit.record(tx, ctx, {
        action: 'flow.deleted',
        resourceType: 'flow',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
      });
      return true;
    });
  }

  /**
   * Queues a run of flow `id` for `userId` with `input` as `{{input}}`: in one transaction, locks the flow,
   * refuses a second active run, checks that the month's quota still has a unit for every step, inserts
   * the run (`queued`), records `flow.triggered` and enqueues the `flow.run` job.
   *
   * With an `idempotencyKey` (the client's `Idempotency-Key`, unique per user among all executions and
   * runs, kept as long as the run is), a retry finds the run the key already names and answers it as it is
   * now (`replayed`): no second run, no second `flow.triggered`. The lookup comes after the flow's lock, so
   * two requests with one key at once queue one run (the second waits, then finds it); a retry after the
   * flow was deleted answers 404 like any trigger of it.
   *
   * @returns the queued (or replayed) run.
   * @throws {ProblemError} 404 `not_found`, 409 `flow_already_running` (with `executionId` of the active
   *   run), 403 `plan_limit_reached` (`limit: 'executionsPerMonth'`), 403 `account_pending_deletion` or
   *   `forbidden` for an account that is not active (a schedule firing then creates no run), 400
   *   `validation_failed` when `idempotencyKey` was used for another request (another flow, another
   *   input, or an agent execution).
   */
  async trigger(
    ctx: AuditContext,
    userId: string,
    id: string,
    input: string,
    trigger: FlowTrigger = 'api',
    idempotencyKey?: string,
  ): Promise<TriggeredRun> {
    try {
      return await withUser(this.deps.db, userId, async (tx) => {
        const flow = await this.row(tx, userId, id, true);
        if (!flow) throw notFound();
        if (idempotencyKey !== undefined) {
          const replayed = await this.byIdempotencyKey(tx, userId, id, input, idempotencyKey);
          if (replayed) return { run: replayed, replayed: true };
        }
        const [active] = await tx
          .select({ id: executions.id })
          .from(executions)
          .where(
            and(
              eq(executions.userId, userId),
              eq(executions.flowId, id),
              isNull(executions.parentId),
              inArray(executions.status, ['queued', 'running']),
            ),
          )
          .limit(1);
        if (active) throw alreadyRunning(active.id);
        const limits = await this.deps.entitlements.limits(tx, userId);
        // A schedule fires for an account scheduled for deletion too: it starts nothing (no run, no callback).
        assertAccountActive(limits);
        const usage = await this.deps.entitlements.executions(tx, userId, limits);
        if (usage.limit - usage.used < flow.steps.length) {
          throw planLimitProblem(
            'executionsPerMonth',
            usage.limit,
            limits.plan,
            `This flow runs ${flow.steps.length} agent execution${flow.steps.length === 1 ? '' : 's'} but only ${Math.max(0, usage.limit - usage.used)} of this month's ${usage.limit} on the ${limits.plan.name} plan are left; the count starts again on ${usage.resetsAt.toISOString().slice(0, 10)}. Upgrade to a higher plan for more.`,
          );
        }
        const run = await this.deps.executions.createRun(tx, userId, id, input, idempotencyKey);
        await this.deps.audit.record(tx, ctx, {
          action: 'flow.triggered',
          resourceType: 'flow',
          resourceId: id,
          outcome: 'success',
          subjectUserId: userId,
          metadata: { executionId: run.id, trigger },
        });
        const job: FlowRunJob = { userId, executionId: run.id };
        await this.deps.jobs.send(FLOW_RUN_JOB, job, { tx });
        return { run, replayed: false };
      });
    } catch (error) {
      // Two triggers at once: the flow row lock makes the second wait; the unique indexes are the backstop
      // (the key may have been taken meanwhile by an agent execution, which takes no flow lock).
      if (!isUniqueViolation(error)) throw error;
      if (idempotencyKey !== undefined) {
        const replayed = await withUser(this.deps.db, userId, (tx) =>
          this.byIdempotencyKey(tx, userId, id, input, idempotencyKey),
        );
        if (replayed) return { run: replayed, replayed: true };
      }
      throw alreadyRunning(undefined);
    }
  }

  /**
   * The run of flow `flowId` that `key` of `userId` names, inside `tx`, when it was triggered with the
   * same `input`; `undefined` when the key is unused.
   * @throws {ProblemError} 400 `validation_failed` when the key names anything else.
   */
  private async byIdempotencyKey(
    tx: Db,
    userId: string,
    flowId: string,
    input: string,
    key: string,
  ): Promise<Execution | undefined> {
    const [row] = await tx
      .select()
      .from(executions)
      .where(and(eq(executions.userId, userId), eq(executions.idempotencyKey, key)));
    if (!row) return undefined;
    const run = this.deps.executions.present(row);
    const same =
      run.flowId === flowId && run.parentId === null && run.agentId === null && run.input === input;
    if (!same) throw keyReused();
    return run;
  }

  /** One page of the runs of flow `id` of `userId` (newest first); `undefined` when there is no such flow. */
  async runs(
    userId: string,
    id: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<FlowRunPage | undefined> {
    if (!(await this.get(userId, id))) return undefined;
    return this.deps.executions.list(userId, { limit, cursor, flowId: id }, { runsOnly: true });
  }

  /** The stored row of flow `id` (for the runner), in `userId`'s scope. */
  find(userId: string, id: string): Promise<FlowRow | undefined> {
    return withUser(this.deps.db, userId, (tx) => this.row(tx, userId, id));
  }

  /**
   * The plaintext signing secret of flow `flowId` of `userId` for callbacks to `url`, opened inside `tx`:
   * `undefined` when the flow or its secret is gone, `{ refused: 'callback_changed' }` when the flow's
   * callback URL is no longer `url` (each URL has its own secret, never used for another). The webhooks
   * module signs callbacks with it.
   */
  async signingSecret(tx: Db, userId: string, flowId: string, url: string): Promise<SigningSecretAnswer> {
    const row = await this.row(tx, userId, flowId);
    if (!row) return undefined;
    if (row.callbackUrl !== url) return { refused: 'callback_changed' };
    if (!row.callbackSecret) return undefined;
    return decrypt(this.deps.keyring, row.callbackSecret, callbackSecretAad(flowId)).toString('utf8');
  }
}

function alreadyRunning(executionId: string | undefined): ProblemError {
  const which = executionId ? ` (${executionId})` : '';
  const cancel = executionId
    ? `POST /api/v1/executions/${executionId}/cancel`
    : 'POST /api/v1/executions/<id>/cancel';
  return new ProblemError(
    'flow_already_running',
    `A run of this flow${which} is queued or running. Wait for it to finish, or cancel it with ${cancel}, then trigger again.`,
    executionId ? { executionId } : {},
  );
}
