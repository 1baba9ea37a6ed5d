import type {
  Execution,
  ExecutionListQuery,
  ExecutionPage,
  ExecutionStatus,
  ProviderId,
} from '@fleece/sdk/contract';
import { and, asc, desc, eq, gte, isNull, lt, or } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { decodeCursor, encodeCursor } from '../../db/pagination.js';
import { executions } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/secrets.js';
import type { AgentService } from '../agents/service.js';
import type { ModelService } from '../ai/models/service.js';
import type { ProviderRegistry } from '../ai/providers/registry.js';
import type { ChatMessage } from '../ai/providers/types.js';
import { SYSTEM_AUDIT_CONTEXT } from '../audit/context.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { AccountLimits, EntitlementsService } from '../plans/entitlements.js';
import {
  EventLog,
  type ExecutionRow,
  eventAad,
  HANDOVER_SEQ_GAP,
  type LiveRun,
  lockExecution,
} from './event-log.js';
import { Leases } from './leases.js';
import { type CancelReason, type Outcome, RunLoop, type RunPlan } from './run-loop.js';
import { DONE_EVENT, ExecutionStreamHub, type StoredEvent } from './stream.js';

export { EXECUTION_LEASE_MS } from './leases.js';
export type { Outcome, RunPlan } from './run-loop.js';
export { eventAad };

/** The statuses an execution ends in. */
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The additional authenticated data binding an execution field's envelope to its row and field. */
export function executionAad(id: string, field: 'input' | 'output'): string {
  return `execution:${id}:${field}`;
}

/** Where an agent execution sits in a flow run: the run (parent), its flow, and the step's name. */
export interface FlowStepLink {
  parentId: string;
  flowId: string;
  step: string;
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

/** Options of {@link ExecutionService.start}. */
export interface StartOptions {
  /** Runs first in the start transaction (in the user's scope) and refuses by throwing: the route's consent check. */
  guard?: (tx: Db) => Promise<void>;
  /**
   * Inserts the execution `running` under this instance's lease, for a caller that runs it at once
   * ({@link ExecutionService.run}), which then writes nothing before its end; otherwise it is `queued`
   * and `run` moves it to `running` in a transaction of its own.
   */
  running?: boolean;
}

/** What an {@link ExecutionService} needs. */
export interface ExecutionServiceOptions {
  database: Database;
  log: FastifyBaseLogger;
  clock: Clock;
  agents: AgentService;
  models: ModelService;
  providers: ProviderRegistry;
  entitlements: EntitlementsService;
  audit: AuditService;
  /** Seals inputs, outputs and stored events (`FLEECE_ENCRYPTION_KEY`). */
  keyring: Keyring;
}

/**
 * Executions of agents, the rules: started atomically with the monthly quota (one transaction: idempotency
 * lookup, model check, quota unit, insert, `agent.executed`), cancelled by the cancel route or by the client
 * of a streaming execute going away, read and listed within the plan's history retention. The rest is in
 * its parts: the run loop runs an execution as a sequence of steps ({@link RunLoop}), the event log
 * persists, batches and replays its events ({@link EventLog}), and the leases recover the executions of an
 * instance that died ({@link Leases}).
 *
 * Input, output and stored events are AES-256-GCM envelopes under the key from `FLEECE_ENCRYPTION_KEY`
 * (src/lib/crypto.ts), each bound to its row and field; `key_id` names the sealing key.
 */
export class ExecutionService {
  /** Live and replayed event streams served by this instance. */
  readonly hub: ExecutionStreamHub;
  /** The event log: persisting, batching and replaying execution events. */
  readonly eventLog: EventLog;
  /** The leases of the executions this instance runs, and the sweep of lost ones. */
  readonly leases: Leases;
  private readonly loop: RunLoop;

  constructor(private readonly deps: ExecutionServiceOptions) {
    this.hub = new ExecutionStreamHub(
      deps.database,
      (userId, id, after, limit) => this.events(userId, id, after, limit),
      deps.log,
    );
    this.eventLog = new EventLog({
      database: deps.database,
      keyring: deps.keyring,
      clock: deps.clock,
      hub: this.hub,
    });
    this.leases = new Leases({
      database: deps.database,
      clock: deps.clock,
      log: deps.log,
      running: () => [...this.eventLog.live].map(([id, live]) => [id, live.userId] as [string, string]),
      fail: (lost) =>
        this.finish(SYSTEM_AUDIT_CONTEXT, lost.userId, lost.id, lost.startedAt ?? this.deps.clock.now(), {
          status: 'failed',
          errorCode: 'instance_lost',
        }),
    });
    this.loop = new RunLoop({
      clock: deps.clock,
      log: deps.log,
      providers: deps.providers,
      events: this.eventLog,
      leases: this.leases,
      transitions: this,
    });
  }

  private get db(): Db {
    return this.deps.database.db;
  }

  private open(id: string, envelope: Buffer, field: 'input' | 'output'): string {
    return decrypt(this.deps.keyring, envelope, executionAad(id, field)).toString('utf8');
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
   * Starts an execution of agent `agentId` for `userId` with `input`, in one transaction: `guard` (the
   * route's consent check) first, then the agent and the plan (one read each; the model must be offered
   * and allowed), the execution inserted (`queued`, or `running` under this instance's lease with
   * {@link StartOptions.running}), one unit of the
   * monthly quota counted, and `agent.executed` recorded. An `idempotencyKey` that already names an
   * execution of `userId` returns that one instead (no charge, nothing recorded): the insert does nothing
   * on the key's unique index (a concurrent request with the same key waits for the first to commit), and a
   * refused start looks the key up before refusing, so a retry is answered whatever changed since. Call
   * {@link run} with the returned plan (its first event, `execution.started`, is produced there).
   * With `link`, the execution is a step of a flow run.
   *
   * @throws {ProblemError} 404 `not_found` (no such agent of `userId`), 403 `plan_limit_reached`
   *   (`executionsPerMonth` or `premiumModels`), 400 `unknown_model`, 400 `validation_failed` (the key was
   *   used for another agent or input), and whatever `guard` throws.
   */
  async start(
    ctx: AuditContext,
    userId: string,
    agentId: string,
    input: string,
    idempotencyKey: string | undefined,
    link?: FlowStepLink,
    options: StartOptions = {},
  ): Promise<Started> {
    const { guard, running = false } = options;
    const replay = async (tx: Db): Promise<Started | undefined> => {
      if (idempotencyKey === undefined) return undefined;
      const existing = await this.byIdempotencyKey(tx, userId, idempotencyKey);
      return existing && { execution: this.checkReplay(existing, agentId, input), replayed: true };
    };
    try {
      return await withUser(this.db, userId, async (tx) => {
        let agent: Awaited<ReturnType<AgentService['find']>>;
        let limits: AccountLimits;
        let model: ReturnType<ModelService['assertModelAllowed']>;
        try {
          await guard?.(tx);
          agent = await this.deps.agents.find(tx, userId, agentId);
          if (!agent) throw new ProblemError('not_found', 'No such agent.');
          limits = await this.deps.entitlements.limits(tx, userId);
          model = this.deps.models.assertModelAllowed(limits, agent.model ?? undefined);
        } catch (error) {
          // A retry of an execution that exists is answered even when the agent or plan changed since.
          if (error instanceof ProblemError && error.code !== 'consent_required') {
            const replayed = await replay(tx);
            if (replayed) return replayed;
          }
          throw error;
        }
        const id = newId('exe');
        const key = this.deps.keyring.current;
        const now = this.deps.clock.now();
        const [row] = await tx
          .insert(executions)
          .values({
            id,
            userId,
            agentId,
            ...(link ? { parentId: link.parentId, flowId: link.flowId, step: link.step } : {}),
            status: running ? 'running' : 'queued',
            model: model.id,
            provider: model.provider,
            keyId: key.id,
            input: encrypt(key, input, executionAad(id, 'input')),
            idempotencyKey: idempotencyKey ?? null,
            createdAt: now,
            ...(running ? { startedAt: now, leaseExpiresAt: this.leases.expiry() } : {}),
          })
          .onConflictDoNothing({ target: [executions.userId, executions.idempotencyKey] })
          .returning();
        if (!row) return (await replay(tx))!;
        await this.deps.entitlements.consumeExecution(tx, userId, limits);
        await this.deps.audit.record(tx, ctx, {
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
          execution: this.present(row),
          replayed: false,
          plan: { messages, temperature: agent.temperature, maxOutputTokens: agent.maxOutputTokens },
        };
      });
    } catch (error) {
      // Defence in depth: a unique violation on the key (the insert above does nothing on it) is a replay.
      if (idempotencyKey !== undefined && isUniqueViolation(error)) {
        const replayed = await withUser(this.db, userId, replay);
        if (replayed) return replayed;
      }
      throw error;
    }
  }

  /**
   * Inserts a flow run of `flowId` for `userId` inside `tx` (which the caller opened in the user's scope):
   * a `queued` execution with no model, `input` sealed like any execution's. The run counts no quota (its
   * steps do). `idempotencyKey` is the trigger's `Idempotency-Key`, kept on the run like an execution's.
   * @throws the unique violation of `executions_flow_active_run` when a run of the flow is already queued
   * or running, or of `executions_idempotency_key` when `userId` already used `idempotencyKey`.
   */
  async createRun(
    tx: Db,
    userId: string,
    flowId: string,
    input: string,
    idempotencyKey?: string,
  ): Promise<Execution> {
    const id = newId('exe');
    const key = this.deps.keyring.current;
    const [row] = await tx
      .insert(executions)
      .values({
        id,
        userId,
        flowId,
        status: 'queued',
        keyId: key.id,
        input: encrypt(key, input, executionAad(id, 'input')),
        idempotencyKey: idempotencyKey ?? null,
        createdAt: this.deps.clock.now(),
      })
      .returning();
    return this.present(row!);
  }

  /**
   * Moves execution `id` of `userId` from `queued` to `running` (event `execution.started`). Resolves
   * `false` when it is not queued (cancelled meanwhile, or already begun).
   */
  async begin(
    userId: string,
    id: string,
    startedAt: Date = this.deps.clock.now(),
    live?: LiveRun,
  ): Promise<boolean> {
    const event = await withUser(this.db, userId, async (tx) => {
      const row = await lockExecution(tx, userId, id);
      if (row?.status !== 'queued') return undefined;
      const [updated] = await tx
        .update(executions)
        .set({
          status: 'running',
          startedAt,
          // Held by this instance while it runs it (a flow run is held by its pg-boss job instead).
          ...(live ? { leaseExpiresAt: this.leases.expiry() } : {}),
        })
        .where(eq(executions.id, id))
        .returning();
      return this.eventLog.append(tx, updated!, 'execution.started', this.present(updated!));
    });
    if (event && live) {
      live.events.push(event);
      live.stored = event.seq;
    }
    this.hub.poke(id);
    return event !== undefined;
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
   * Resolves when every event this instance's run of execution `id` has produced so far is stored (at
   * once when the execution is not running here), or its storing stopped. Never rejects.
   */
  flushed(id: string): Promise<void> {
    return this.eventLog.flushed(id);
  }

  /**
   * Runs a started execution to its end and never throws ({@link RunLoop.run}): `running` (event
   * `execution.started`), one `output.delta` event per provider delta, then `succeeded` / `failed` /
   * `cancelled` with the matching event and `done`. `signal` (the streaming client going away) or
   * {@link cancel} aborts the provider call; the execution is then `cancelled` and `execution.cancelled` is
   * audited. Resolves to the execution as this run ended it, or `undefined` when it ended otherwise (a
   * cancel won the race, or its end could not be stored); read it with {@link get} then.
   */
  run(...args: Parameters<RunLoop['run']>): Promise<Execution | undefined> {
    return this.loop.run(...args);
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
    cancelReason?: CancelReason,
    onFinished?: (tx: Db, execution: Execution) => Promise<void>,
  ): Promise<boolean> {
    const finished = await withUser(this.db, userId, async (tx) => {
      const row = await lockExecution(tx, userId, id);
      if (!row || TERMINAL_STATUSES.includes(row.status)) return false;
      const input = this.open(id, row.input, 'input');
      const [updated] = await tx
        .update(executions)
        .set(this.ending(id, input, row.startedAt ?? startedAt, outcome))
        .where(eq(executions.id, id))
        .returning();
      const execution = this.present(updated!);
      // A running agent execution may have sent events that were never stored (its instance holds them
      // for a batch, or died): its final events go past any id it can have sent (HANDOVER_SEQ_GAP).
      // Running here, it ends here: nothing more it produces is sent, and the final events follow what was.
      const stored = await this.eventLog.nextSeq(tx, id);
      const live = this.eventLog.live.get(id);
      if (live) live.stopped = true;
      const handover = row.status === 'running' && row.agentId !== null;
      const seq = live ? Math.max(stored, live.nextSeq) : handover ? stored + HANDOVER_SEQ_GAP : stored;
      const events = this.terminalEvents(execution, outcome, seq);
      await this.eventLog.store(tx, updated!, events);
      await this.ended(tx, ctx, execution, userId, outcome, cancelReason, onFinished);
      return true;
    });
    this.hub.poke(id);
    return finished;
  }

  /**
   * The end of an execution this instance ran ({@link RunLoop}), in one transaction: the row moves from
   * `running` to its outcome (no lock read first: the `UPDATE` takes the row lock and checks the status),
   * and every event of `live` not stored yet goes in with the final event and `done` in one insert (one
   * notification). Resolves to the ended execution, or `undefined` when it had ended elsewhere (a cancel
   * on another instance won the race; the unstored events are dropped). A run whose storing stopped ends
   * through {@link finish}, which continues after the stored events.
   */
  async complete(
    ctx: AuditContext,
    execution: Execution,
    userId: string,
    live: LiveRun,
    outcome: Outcome,
    cancelReason?: CancelReason,
  ): Promise<Execution | undefined> {
    const id = execution.id;
    const startedAt = execution.startedAt ? new Date(execution.startedAt) : this.deps.clock.now();
    await this.eventLog.drain(live);
    if (live.stopped) {
      await this.finish(ctx, userId, id, startedAt, outcome, cancelReason);
      return undefined;
    }
    const pending = live.pending;
    live.pending = [];
    // Put back on failure: the run ends again (as failed) through here, and must store them then.
    const ended = await withUser(this.db, userId, async (tx) => {
      const [updated] = await tx
        .update(executions)
        .set(this.ending(id, execution.input, startedAt, outcome))
        .where(and(eq(executions.id, id), eq(executions.userId, userId), eq(executions.status, 'running')))
        .returning();
      if (!updated) return undefined;
      const final = this.present(updated);
      const terminal = this.terminalEvents(final, outcome, live.nextSeq);
      await this.eventLog.store(tx, updated, [...pending, ...terminal]);
      await this.ended(tx, ctx, final, userId, outcome, cancelReason, this.runFinished(final, userId));
      return { final, terminal };
    }).catch((error: unknown) => {
      live.pending = [...pending, ...live.pending];
      throw error;
    });
    if (!ended) {
      live.stopped = true;
      return undefined;
    }
    live.events.push(...ended.terminal);
    live.stored = ended.terminal.at(-1)!.seq;
    this.hub.poke(id);
    return ended.final;
  }

  /** The columns of an execution ending with `outcome` (input re-sealed with the output under one key). */
  private ending(id: string, input: string, startedAt: Date, outcome: Outcome) {
    const finishedAt = this.deps.clock.now();
    const key = this.deps.keyring.current;
    return {
      status: outcome.status,
      // Re-sealed under the current key together with the output, so the row has one key id.
      keyId: key.id,
      input: encrypt(key, input, executionAad(id, 'input')),
      output: outcome.output === undefined ? null : encrypt(key, outcome.output, executionAad(id, 'output')),
      inputTokens: outcome.inputTokens ?? null,
      outputTokens: outcome.outputTokens ?? null,
      finishReason: outcome.finishReason ?? null,
      errorCode: outcome.errorCode ?? null,
      failedStep: outcome.failedStep ?? null,
      startedAt,
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  }

  /** The last two events of an ended execution from id `seq` on: its final event and `done`. */
  private terminalEvents(execution: Execution, outcome: Outcome, seq: number): StoredEvent[] {
    const type =
      outcome.status === 'succeeded'
        ? 'execution.completed'
        : outcome.status === 'failed'
          ? 'execution.failed'
          : 'execution.cancelled';
    return [
      { seq, type, data: execution },
      { seq: seq + 1, type: DONE_EVENT, data: { status: outcome.status } },
    ];
  }

  /** Inside the final transaction: `execution.cancelled` audited for a cancel, then `onFinished`. */
  private async ended(
    tx: Db,
    ctx: AuditContext,
    execution: Execution,
    userId: string,
    outcome: Outcome,
    cancelReason: CancelReason | undefined,
    onFinished: ((tx: Db, execution: Execution) => Promise<void>) | undefined,
  ): Promise<void> {
    if (outcome.status === 'cancelled') {
      await this.deps.audit.record(tx, ctx, {
        action: 'execution.cancelled',
        resourceType: 'execution',
        resourceId: execution.id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { reason: cancelReason ?? 'cancel_route' },
      });
    }
    await onFinished?.(tx, execution);
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
    // Running here: what its streams were sent is stored first, so the cancel event follows it.
    await this.eventLog.flushed(id);
    await this.finish(
      ctx,
      userId,
      id,
      this.deps.clock.now(),
      { status: 'cancelled' },
      'cancel_route',
      this.runFinished(existing, userId),
    );
    this.loop.abort(id);
    if (existing.flowId && !existing.parentId) {
      for (const child of await this.children(userId, id)) {
        if (TERMINAL_STATUSES.includes(child.status)) continue;
        await this.finish(
          ctx,
          userId,
          child.id,
          this.deps.clock.now(),
          { status: 'cancelled' },
          'flow_run_cancelled',
        );
        this.loop.abort(child.id);
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
            gte(executions.createdAt, await this.deps.entitlements.retentionCutoff(tx, userId)),
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
            gte(executions.createdAt, await this.deps.entitlements.retentionCutoff(tx, userId)),
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

  /**
   * Events of execution `id` of `userId` with `seq` above `afterSeq`, in order ({@link EventLog.events}).
   */
  events(userId: string, id: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.eventLog.events(userId, id, afterSeq, limit);
  }

  /** Renews the leases of the executions this instance runs ({@link Leases.renew}). */
  renewLeases(): Promise<number> {
    return this.leases.renew();
  }

  /**
   * Fails every execution whose instance died (claim C32, {@link Leases.sweepLost}) as `failed` /
   * `instance_lost`, with its final events (so streams following it end). No quota is charged (the unit
   * was counted once, when it started). Run at start-up and every minute by the `executions.sweep` job.
   * Resolves to the ids it failed.
   */
  sweepLost(): Promise<string[]> {
    return this.leases.sweepLost();
  }

  /** Cancels every run of this instance and waits for them to settle (server shutdown). */
  async close(): Promise<void> {
    await this.loop.close();
    this.eventLog.forget();
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
      case 'instance_lost':
        return 'The server instance running this execution stopped before it finished; run it again.';
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
