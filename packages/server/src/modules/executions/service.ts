import type {
  Execution,
  ExecutionListQuery,
  ExecutionPage,
  ExecutionStatus,
  ProviderId,
} from '@fleece/sdk/contract';
import { and, asc, desc, eq, gt, gte, isNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../../db/client.js';
import { executionEvents, executions } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import type { AgentService } from '../agents/service.js';
import { decodeCursor, encodeCursor } from '../agents/service.js';
import type { ModelService } from '../ai/models/service.js';
import { ProviderError } from '../ai/providers/errors.js';
import type { ProviderRegistry } from '../ai/providers/registry.js';
import type { ChatMessage } from '../ai/providers/types.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import { newId } from '../identity/secrets.js';
import type { EntitlementsService } from '../plans/entitlements.js';
import { DONE_EVENT, EXECUTION_CHANNEL, ExecutionStreamHub, type StoredEvent } from './stream.js';

type ExecutionRow = typeof executions.$inferSelect;

/** The statuses an execution ends in. */
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The additional authenticated data binding an execution field's envelope to its row and field. */
export function executionAad(id: string, field: 'input' | 'output'): string {
  return `execution:${id}:${field}`;
}

/** The additional authenticated data binding a stored stream event to its execution and position. */
export function eventAad(executionId: string, seq: number): string {
  return `execution_event:${executionId}:${seq}`;
}

/** What an execution runs: the agent's prompt and settings, captured when it was started. */
export interface RunPlan {
  messages: ChatMessage[];
  temperature: number | null;
  maxOutputTokens: number | null;
}

/** Where an agent execution sits in a flow run: the run (parent), its flow, and the step's name. */
export interface FlowStepLink {
  parentId: string;
  flowId: string;
  step: string;
}

/** How an execution ended, for {@link ExecutionService.finish}. */
export interface Outcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  output?: string;
  inputTokens?: number;
  outputTokens?: number;
  finishReason?: string;
  errorCode?: string;
  /** A flow run that failed in a step: that step's name. */
  failedStep?: string;
}

/** Called inside the final transaction of a flow run: see {@link ExecutionService.onFlowRunFinished}. */
export type FlowRunFinishedHook = (tx: Db, run: Execution, userId: string) => Promise<void>;

/** The outcome of {@link ExecutionService.start}. */
export interface Started {
  execution: Execution;
  /** `true` when the `Idempotency-Key` named an execution that already existed: nothing new was started. */
  replayed: boolean;
  /** What to run (only when not replayed). */
  plan?: RunPlan;
}

/** Whether `error` (or one of its causes) is a PostgreSQL unique violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/**
 * Executions of agents: started atomically with the monthly quota (one transaction: idempotency lookup,
 * model check, quota unit, insert, `agent.executed`), run in process against the model provider, every
 * stream event stored (encrypted) for replay and announced on {@link EXECUTION_CHANNEL}; cancelled by the
 * cancel route or by the client of a streaming execute going away (the provider call is aborted).
 *
 * Input, output and stored events are AES-256-GCM envelopes under the key from `FLEECE_ENCRYPTION_KEY`
 * (src/lib/crypto.ts), each bound to its row and field; `key_id` names the sealing key.
 */
export class ExecutionService {
  /** Live and replayed event streams served by this instance. */
  readonly hub: ExecutionStreamHub;
  private readonly running = new Map<string, AbortController>();
  private readonly runs = new Set<Promise<void>>();

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly keyring: Keyring,
    private readonly audit: AuditService,
    private readonly entitlements: EntitlementsService,
    private readonly models: ModelService,
    private readonly providers: ProviderRegistry,
    private readonly agents: AgentService,
    private readonly log: FastifyBaseLogger,
  ) {
    this.hub = new ExecutionStreamHub(
      database,
      (userId, id, after, limit) => this.events(userId, id, after, limit),
      log,
    );
  }

  private get db(): Db {
    return this.database.db;
  }

  private open(id: string, envelope: Buffer, field: 'input' | 'output'): string {
    return decrypt(this.keyring, envelope, executionAad(id, field)).toString('utf8');
  }

  /** The wire form of an execution row (input and output decrypted). */
  present(row: ExecutionRow): Execution {
    return {
      id: row.id,
      agentId: row.agentId,
      flowId: row.flowId,
      parentId: row.parentId,
      step: row.step,
      status: row.status,
      model: row.model,
      provider: row.provider as ProviderId | null,
      input: this.open(row.id, row.input, 'input'),
      output: row.output ? this.open(row.id, row.output, 'output') : null,
      usage:
        row.inputTokens === null || row.outputTokens === null
          ? null
          : { inputTokens: row.inputTokens, outputTokens: row.outputTokens },
      finishReason: row.finishReason,
      error: row.errorCode
        ? {
            code: row.errorCode,
            message: errorMessage(row.errorCode, row.failedStep),
            ...(row.failedStep ? { step: row.failedStep } : {}),
          }
        : null,
      durationMs: row.durationMs,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null,
    };
  }

  /**
   * Starts an execution of agent `agentId` for `userId` with `input`: in one transaction, returns the
   * execution an `idempotencyKey` already names (no charge), or checks the model against the plan, counts
   * one unit of the monthly quota, inserts the execution (`queued`) and records `agent.executed`. Call
   * {@link run} with the returned plan to run it. With `link`, the execution is a step of a flow run.
   *
   * @throws {ProblemError} 404 `not_found` (no such agent of `userId`), 403 `plan_limit_reached`
   *   (`executionsPerMonth` or `premiumModels`), 400 `unknown_model`.
   */
  async start(
    ctx: AuditContext,
    userId: string,
    agentId: string,
    input: string,
    idempotencyKey: string | undefined,
    link?: FlowStepLink,
  ): Promise<Started> {
    try {
      return await withUser(this.db, userId, async (tx) => {
        if (idempotencyKey !== undefined) {
          const existing = await this.byIdempotencyKey(tx, userId, idempotencyKey);
          if (existing) return { execution: this.checkReplay(existing, agentId, input), replayed: true };
        }
        const agent = await this.agents.find(tx, userId, agentId);
        if (!agent) throw new ProblemError('not_found', 'No such agent.');
        const limits = await this.entitlements.limits(tx, userId);
        const model = this.models.assertModelAllowed(limits, agent.model ?? undefined);
        await this.entitlements.consumeExecution(tx, userId);
        const id = newId('exe');
        const key = this.keyring.current;
        const [row] = await tx
          .insert(executions)
          .values({
            id,
            userId,
            agentId,
            ...(link ? { parentId: link.parentId, flowId: link.flowId, step: link.step } : {}),
            status: 'queued',
            model: model.id,
            provider: model.provider,
            keyId: key.id,
            input: encrypt(key, input, executionAad(id, 'input')),
            idempotencyKey: idempotencyKey ?? null,
            createdAt: this.clock.now(),
          })
          .returning();
        await this.audit.record(tx, ctx, {
          action: 'agent.executed',
          resourceType: 'execution',
          resourceId: id,
          outcome: 'success',
          subjectUserId: userId,
          metadata: { agentId, model: model.id },
        });
        const messages: ChatMessage[] = [];
        if (agent.instructions) messages.push({ role: 'system', content: agent.instructions });
        messages.push({ role: 'user', content: input });
        return {
          execution: this.present(row!),
          replayed: false,
          plan: { messages, temperature: agent.temperature, maxOutputTokens: agent.maxOutputTokens },
        };
      });
    } catch (error) {
      // Two requests with one key at once: the loser's insert waits for the winner and then conflicts.
      if (idempotencyKey !== undefined && isUniqueViolation(error)) {
        const existing = await withUser(this.db, userId, (tx) =>
          this.byIdempotencyKey(tx, userId, idempotencyKey),
        );
        if (existing) return { execution: this.checkReplay(existing, agentId, input), replayed: true };
      }
      throw error;
    }
  }

  /**
   * Inserts a flow run of `flowId` for `userId` inside `tx` (which the caller opened in the user's scope):
   * a `queued` execution with no model, `input` sealed like any execution's. The run counts no quota (its
   * steps do). @throws the unique violation of `executions_flow_active_run` when a run of the flow is
   * already queued or running.
   */
  async createRun(tx: Db, userId: string, flowId: string, input: string): Promise<Execution> {
    const id = newId('exe');
    const key = this.keyring.current;
    const [row] = await tx
      .insert(executions)
      .values({
        id,
        userId,
        flowId,
        status: 'queued',
        keyId: key.id,
        input: encrypt(key, input, executionAad(id, 'input')),
        createdAt: this.clock.now(),
      })
      .returning();
    return this.present(row!);
  }

  /**
   * Moves execution `id` of `userId` from `queued` to `running` (event `execution.started`). Resolves
   * `false` when it is not queued (cancelled meanwhile, or already begun).
   */
  async begin(userId: string, id: string, startedAt: Date = this.clock.now()): Promise<boolean> {
    const started = await withUser(this.db, userId, async (tx) => {
      const row = await this.lock(tx, userId, id);
      if (row?.status !== 'queued') return false;
      const [updated] = await tx
        .update(executions)
        .set({ status: 'running', startedAt })
        .where(eq(executions.id, id))
        .returning();
      await this.append(tx, updated!, 'execution.started', this.present(updated!));
      return true;
    });
    this.hub.poke(id);
    return started;
  }

  /** The steps of flow run `parentId` of `userId`, oldest first. */
  async children(userId: string, parentId: string): Promise<Execution[]> {
    const rows = await withUser(this.db, userId, (tx) =>
      tx
        .select()
        .from(executions)
        .where(and(eq(executions.userId, userId), eq(executions.parentId, parentId)))
        .orderBy(asc(executions.createdAt), asc(executions.id)),
    );
    return rows.map((r) => this.present(r));
  }

  /**
   * The execution an `Idempotency-Key` names, when the retry asks for the same thing (same agent, same
   * input). @throws {ProblemError} 400 `validation_failed` when the key was used for another request.
   */
  private checkReplay(row: ExecutionRow, agentId: string, input: string): Execution {
    const execution = this.present(row);
    if (execution.agentId !== agentId || execution.input !== input) {
      throw new ProblemError(
        'validation_failed',
        'The request is not valid: headers.idempotency-key: already used for a different request; use a new key.',
        { errors: [{ path: 'headers.idempotency-key', message: 'already used for a different request' }] },
      );
    }
    return execution;
  }

  private async byIdempotencyKey(tx: Db, userId: string, key: string): Promise<ExecutionRow | undefined> {
    const [row] = await tx
      .select()
      .from(executions)
      .where(and(eq(executions.userId, userId), eq(executions.idempotencyKey, key)));
    return row;
  }

  /**
   * Appends event `type` to execution `row` inside `tx` (which holds the row's lock): the next `seq`,
   * `data` sealed under the current key, and a notification for the streams of other instances.
   */
  private async append(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    type: string,
    data: unknown,
  ): Promise<void> {
    const key = this.keyring.current;
    const [{ next } = { next: 1 }] = (await tx
      .select({ next: sql<number>`coalesce(max(${executionEvents.seq}), 0) + 1` })
      .from(executionEvents)
      .where(eq(executionEvents.executionId, row.id))) as { next: number }[];
    const seq = Number(next);
    await tx.insert(executionEvents).values({
      executionId: row.id,
      seq,
      userId: row.userId,
      type,
      keyId: key.id,
      data: encrypt(key, JSON.stringify(data), eventAad(row.id, seq)),
      createdAt: this.clock.now(),
    });
    await tx.execute(sql`select pg_notify(${EXECUTION_CHANNEL}, ${row.id})`);
  }

  private async lock(tx: Db, userId: string, id: string): Promise<ExecutionRow | undefined> {
    const [row] = await tx
      .select()
      .from(executions)
      .where(and(eq(executions.id, id), eq(executions.userId, userId)))
      .for('update');
    return row;
  }

  /**
   * Runs a started execution to its end and never throws: `running` (event `execution.started`), one
   * `output.delta` event per provider delta, then `succeeded` / `failed` / `cancelled` with the matching
   * event and `done`. `signal` (the streaming client going away) or {@link cancel} aborts the provider
   * call; the execution is then `cancelled` and `execution.cancelled` is audited.
   */
  run(
    ctx: AuditContext,
    execution: Execution,
    userId: string,
    plan: RunPlan,
    signal?: AbortSignal,
  ): Promise<void> {
    const controller = new AbortController();
    this.running.set(execution.id, controller);
    let reason: 'cancel_route' | 'client_disconnected' | undefined;
    const onAbort = () => {
      reason ??= 'client_disconnected';
      controller.abort();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const id = execution.id;
    const done = (async () => {
      const startedAt = this.clock.now();
      try {
        if (!(await this.begin(userId, id, startedAt))) return;
        // Only a flow run has no model, and a flow run is never run here (src/modules/flows/runner.ts is).
        if (!execution.provider || !execution.model) throw new Error('an execution without a model');
        const provider = this.providers.get(execution.provider);
        if (!provider) throw new ProviderError('provider_unavailable', execution.provider);
        const stream = provider.stream(plan.messages, {
          model: execution.model,
          temperature: plan.temperature ?? undefined,
          maxOutputTokens: plan.maxOutputTokens ?? undefined,
          signal: controller.signal,
        });
        for await (const text of stream) {
          const live = await withUser(this.db, userId, async (tx) => {
            // A cancel (possibly on another instance) ended the row: stop the provider call here.
            const row = await this.lock(tx, userId, id);
            if (row?.status !== 'running') return false;
            await this.append(tx, row, 'output.delta', { text });
            return true;
          });
          if (!live) {
            controller.abort();
            break;
          }
          this.hub.poke(id);
        }
        const result = await stream.result();
        await this.finish(ctx, userId, id, startedAt, {
          status: 'succeeded',
          output: result.text,
          inputTokens: result.usage.inputTokens,
          outputTokens: result.usage.outputTokens,
          finishReason: result.finishReason,
        });
      } catch (error) {
        if (controller.signal.aborted) {
          await this.finish(ctx, userId, id, startedAt, { status: 'cancelled' }, reason ?? 'cancel_route');
        } else {
          const code = error instanceof ProviderError ? error.code : 'internal_error';
          if (!(error instanceof ProviderError))
            this.log.error({ err: error, executionId: id }, 'execution failed');
          await this.finish(ctx, userId, id, startedAt, { status: 'failed', errorCode: code });
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(id);
      }
    })().catch((error: unknown) => {
      this.log.error({ err: error, executionId: id }, 'execution could not be finished');
    });
    this.runs.add(done);
    void done.finally(() => this.runs.delete(done));
    return done;
  }

  /**
   * Ends execution `id` unless it has ended already (a cancel won the race), with its last events.
   * `onFinished` runs inside the same transaction with the final execution (a flow run's webhook is
   * enqueued there, so it exists exactly when the final state commits). Resolves `false` when the
   * execution had already ended (nothing changed).
   */
  async finish(
    ctx: AuditContext,
    userId: string,
    id: string,
    startedAt: Date,
    outcome: Outcome,
    cancelReason?: 'cancel_route' | 'client_disconnected' | 'flow_run_cancelled',
    onFinished?: (tx: Db, execution: Execution) => Promise<void>,
  ): Promise<boolean> {
    const finished = await withUser(this.db, userId, async (tx) => {
      const row = await this.lock(tx, userId, id);
      if (!row || TERMINAL_STATUSES.includes(row.status)) return false;
      const finishedAt = this.clock.now();
      const key = this.keyring.current;
      const [updated] = await tx
        .update(executions)
        .set({
          status: outcome.status,
          // Re-sealed under the current key together with the output, so the row has one key id.
          keyId: key.id,
          input: encrypt(key, this.open(id, row.input, 'input'), executionAad(id, 'input')),
          output:
            outcome.output === undefined ? null : encrypt(key, outcome.output, executionAad(id, 'output')),
          inputTokens: outcome.inputTokens ?? null,
          outputTokens: outcome.outputTokens ?? null,
          finishReason: outcome.finishReason ?? null,
          errorCode: outcome.errorCode ?? null,
          failedStep: outcome.failedStep ?? null,
          startedAt: row.startedAt ?? startedAt,
          finishedAt,
          durationMs: finishedAt.getTime() - (row.startedAt ?? startedAt).getTime(),
        })
        .where(eq(executions.id, id))
        .returning();
      const type =
        outcome.status === 'succeeded'
          ? 'execution.completed'
          : outcome.status === 'failed'
            ? 'execution.failed'
            : 'execution.cancelled';
      await this.append(tx, updated!, type, this.present(updated!));
      await this.append(tx, updated!, DONE_EVENT, { status: outcome.status });
      if (outcome.status === 'cancelled') {
        await this.audit.record(tx, ctx, {
          action: 'execution.cancelled',
          resourceType: 'execution',
          resourceId: id,
          outcome: 'success',
          subjectUserId: userId,
          metadata: { reason: cancelReason ?? 'cancel_route' },
        });
      }
      await onFinished?.(tx, this.present(updated!));
      return true;
    });
    this.hub.poke(id);
    return finished;
  }

  /**
   * Cancels execution `id` of `userId` when it is queued or running (its provider call on this instance is
   * aborted; `execution.cancelled` is audited). Cancelling a flow run cancels its step that is queued or
   * running too (the worker running it, on any instance, sees the step end and stops). A finished execution
   * is returned unchanged.
   * @returns `undefined` when `userId` has no execution `id`.
   */
  async cancel(ctx: AuditContext, userId: string, id: string): Promise<Execution | undefined> {
    const existing = await this.get(userId, id);
    if (!existing) return undefined;
    if (TERMINAL_STATUSES.includes(existing.status)) return existing;
    await this.finish(
      ctx,
      userId,
      id,
      this.clock.now(),
      { status: 'cancelled' },
      'cancel_route',
      this.runFinished(existing, userId),
    );
    this.running.get(id)?.abort();
    if (existing.flowId && !existing.parentId) {
      for (const child of await this.children(userId, id)) {
        if (TERMINAL_STATUSES.includes(child.status)) continue;
        await this.finish(
          ctx,
          userId,
          child.id,
          this.clock.now(),
          { status: 'cancelled' },
          'flow_run_cancelled',
        );
        this.running.get(child.id)?.abort();
      }
    }
    return this.get(userId, id);
  }

  private readonly runHooks: FlowRunFinishedHook[] = [];

  /**
   * Adds a hook called inside the final transaction of every flow run (whether it succeeded, failed or
   * was cancelled, here or by the runner), with the run's final execution and its owner. The webhook
   * callback of a run is enqueued this way (src/modules/flows/plugin.ts). Register while the app is built.
   */
  onFlowRunFinished(hook: FlowRunFinishedHook): void {
    this.runHooks.push(hook);
  }

  /** The `onFinished` of {@link finish} for `execution` of `userId`: the flow run hooks, for a flow run. */
  runFinished(
    execution: Pick<Execution, 'flowId' | 'parentId'>,
    userId: string,
  ): ((tx: Db, run: Execution) => Promise<void>) | undefined {
    if (!execution.flowId || execution.parentId) return undefined;
    return async (tx, run) => {
      for (const hook of this.runHooks) await hook(tx, run, userId);
    };
  }

  /**
   * Execution `id` of `userId`; `undefined` when `userId` has none (another user's included) or it is older
   * than the plan's history retention.
   */
  async get(userId: string, id: string): Promise<Execution | undefined> {
    const [row] = await withUser(this.db, userId, async (tx) =>
      tx
        .select()
        .from(executions)
        .where(
          and(
            eq(executions.id, id),
            eq(executions.userId, userId),
            gte(executions.createdAt, await this.entitlements.retentionCutoff(tx, userId)),
          ),
        ),
    );
    return row && this.present(row);
  }

  /**
   * One page of `userId`'s executions within the plan's history retention, newest first, filtered by agent,
   * flow (its runs and their steps), parent run and status; `runsOnly` leaves out flow steps.
   */
  async list(
    userId: string,
    query: ExecutionListQuery,
    options: { runsOnly?: boolean } = {},
  ): Promise<ExecutionPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'exe');
    const rows = await withUser(this.db, userId, async (tx) =>
      tx
        .select()
        .from(executions)
        .where(
          and(
            eq(executions.userId, userId),
            gte(executions.createdAt, await this.entitlements.retentionCutoff(tx, userId)),
            query.agentId === undefined ? undefined : eq(executions.agentId, query.agentId),
            query.flowId === undefined ? undefined : eq(executions.flowId, query.flowId),
            query.parentId === undefined ? undefined : eq(executions.parentId, query.parentId),
            options.runsOnly ? isNull(executions.parentId) : undefined,
            query.status === undefined ? undefined : eq(executions.status, query.status),
            after
              ? or(
                  lt(executions.createdAt, after[0]),
                  and(eq(executions.createdAt, after[0]), lt(executions.id, after[1])),
                )
              : undefined,
          ),
        )
        .orderBy(desc(executions.createdAt), desc(executions.id))
        .limit(query.limit + 1),
    );
    const page = rows.slice(0, query.limit);
    return {
      data: page.map((r) => this.present(r)),
      nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]!) : null,
    };
  }

  /** Stored events of execution `id` of `userId` with `seq` above `afterSeq`, in order, decrypted. */
  async events(userId: string, id: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await withUser(this.db, userId, (tx) =>
      tx
        .select()
        .from(executionEvents)
        .where(
          and(
            eq(executionEvents.executionId, id),
            eq(executionEvents.userId, userId),
            gt(executionEvents.seq, afterSeq),
          ),
        )
        .orderBy(asc(executionEvents.seq))
        .limit(limit),
    );
    return rows.map((r) => ({
      seq: r.seq,
      type: r.type,
      data: JSON.parse(decrypt(this.keyring, r.data, eventAad(id, r.seq)).toString('utf8')),
    }));
  }

  /** Cancels every run of this instance and waits for them to settle (server shutdown). */
  async close(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await Promise.allSettled([...this.runs]);
    await this.hub.close();
  }
}

/** The message shown for a stored error code (and, for a flow run, the step that failed). */
function errorMessage(code: string, failedStep: string | null = null): string {
  const message = ((): string => {
    switch (code) {
      case 'internal_error':
        return 'The execution failed because of an internal error.';
      case 'step_failed':
        return `The flow run failed in step "${failedStep ?? '?'}"; that step's execution (its parentId is this run) says why.`;
      case 'agent_not_found':
        return "The step's agent no longer exists; change the flow to use another agent.";
      case 'plan_limit_reached':
        return "This month's execution quota was used up before the step could run.";
      case 'unknown_model':
        return "The step's agent names a model this deployment does not offer.";
      case 'flow_deleted':
        return 'The flow was deleted while this run was waiting or running.';
      case 'worker_lost':
        return 'The worker running this step stopped before it finished; the run ran the step again.';
      case 'step_input_too_large':
        return "The step's input, with its template filled in, is longer than the 100,000 characters an execution may have; use fewer placeholders or shorter inputs and outputs.";
      case 'consent_required':
        return 'The ai_processing consent was withdrawn, so the step was not run; grant it again and trigger a new run.';
      case 'account_pending_deletion':
        return 'The account is scheduled for deletion, so nothing runs for it until the deletion is cancelled.';
      case 'forbidden':
        return 'The account is suspended, so nothing runs for it.';
      default:
        return `The model provider call failed [${code}].`;
    }
  })();
  // A flow run that failed before a step could start names that step.
  return failedStep && code !== 'step_failed' ? `Step "${failedStep}": ${message}` : message;
}
