import type {
  Execution,
  ExecutionListQuery,
  ExecutionPage,
  ExecutionStatus,
  ProviderId,
} from '@fleece/sdk/contract';
import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { decodeCursor, encodeCursor } from '../../db/pagination.js';
import { executionEvents, executions } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/secrets.js';
import type { AgentService } from '../agents/service.js';
import type { ModelService } from '../ai/models/service.js';
import { ProviderError } from '../ai/providers/errors.js';
import type { ProviderRegistry } from '../ai/providers/registry.js';
import type { ChatMessage } from '../ai/providers/types.js';
import { SYSTEM_AUDIT_CONTEXT } from '../audit/context.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { EntitlementsService } from '../plans/entitlements.js';
import { DONE_EVENT, EXECUTION_CHANNEL, ExecutionStreamHub, type StoredEvent } from './stream.js';

type ExecutionRow = typeof executions.$inferSelect;

/**
 * How long the instance running an execution holds it without renewing, in ms: it renews every third of
 * this while the execution runs, and {@link ExecutionService.sweepLost} fails an execution whose lease
 * expired (its instance died) as `instance_lost`. A queued agent execution that has not begun this long
 * after it was created is failed the same way.
 */
export const EXECUTION_LEASE_MS = 60_000;

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

/**
 * The events of an execution this instance is running, held in memory from `execution.started` on while it
 * runs. Ids are assigned here (continuing the stored ones: 1, 2, … per execution), streams on this instance
 * read the events at once, and the events are stored behind in batches ({@link ExecutionService} `flush`):
 * a stream that reconnects elsewhere with `Last-Event-ID` continues from the same ids.
 */
class LiveRun {
  /** Every event of the run from the first (`execution.started`) on, stored or not, in id order. */
  readonly events: StoredEvent[] = [];
  /** Events produced and not yet in a batch being written. */
  pending: StoredEvent[] = [];
  /** The highest id committed to the database. */
  stored = 0;
  /** The batch being written, when one is. */
  writing: Promise<void> | undefined;
  /**
   * Set when a batch found the execution ended elsewhere (a cancel on another instance) or could not be
   * written: nothing more is stored, and unstored events are dropped.
   */
  stopped = false;
  /** Why a batch could not be written, when that stopped the run. */
  failure: unknown;

  constructor(readonly userId: string) {}

  /** The id the next event gets. */
  get nextSeq(): number {
    return (this.events.at(-1)?.seq ?? this.stored) + 1;
  }

  /**
   * Up to `limit` events with an id above `afterSeq`: none before the run began, `undefined` when they
   * start before the memory does (the stored events come first).
   */
  after(afterSeq: number, limit: number): StoredEvent[] | undefined {
    const first = this.events[0]?.seq;
    if (first === undefined) return [];
    if (afterSeq < first - 1) return undefined;
    const from = afterSeq - first + 1;
    return this.events.slice(from, from + limit);
  }
}

/**
 * Executions of agents: started atomically with the monthly quota (one transaction: idempotency lookup,
 * model check, quota unit, insert, `agent.executed`), run in process against the model provider, every
 * stream event stored (encrypted) for replay and announced on {@link EXECUTION_CHANNEL}; while an execution
 * runs, its events are served to streams on this instance from memory as they are produced and stored
 * behind in batches (one transaction and one notification per batch, see {@link LiveRun}), and its final
 * event is stored only after all the others; cancelled by the
 * cancel route or by the client of a streaming execute going away (the provider call is aborted).
 *
 * Input, output and stored events are AES-256-GCM envelopes under the key from `FLEECE_ENCRYPTION_KEY`
 * (src/lib/crypto.ts), each bound to its row and field; `key_id` names the sealing key.
 */
export class ExecutionService {
  /** Live and replayed event streams served by this instance. */
  readonly hub: ExecutionStreamHub;
  private readonly running = new Map<string, AbortController>();
  private readonly live = new Map<string, LiveRun>();
  private renewal: NodeJS.Timeout | undefined;
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
        idempotencyKey: idempotencyKey ?? null,
        createdAt: this.clock.now(),
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
    startedAt: Date = this.clock.now(),
    live?: LiveRun,
  ): Promise<boolean> {
    const event = await withUser(this.db, userId, async (tx) => {
      const row = await this.lock(tx, userId, id);
      if (row?.status !== 'queued') return undefined;
      const [updated] = await tx
        .update(executions)
        .set({
          status: 'running',
          startedAt,
          // Held by this instance while it runs it (a flow run is held by its pg-boss job instead).
          ...(live ? { leaseExpiresAt: new Date(this.clock.now().getTime() + EXECUTION_LEASE_MS) } : {}),
        })
        .where(eq(executions.id, id))
        .returning();
      return this.append(tx, updated!, 'execution.started', this.present(updated!));
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
   * Appends event `type` to execution `row` inside `tx` (which holds the row's lock): the next `seq`,
   * `data` sealed under the current key, and a notification for the streams of other instances.
   */
  private async append(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    type: string,
    data: unknown,
  ): Promise<StoredEvent> {
    const [{ next } = { next: 1 }] = (await tx
      .select({ next: sql<number>`coalesce(max(${executionEvents.seq}), 0) + 1` })
      .from(executionEvents)
      .where(eq(executionEvents.executionId, row.id))) as { next: number }[];
    const event: StoredEvent = { seq: Number(next), type, data };
    await this.store(tx, row, [event]);
    return event;
  }

  /**
   * Inserts `events` of execution `row` inside `tx` (which holds the row's lock) in one statement, each
   * `data` sealed under the current key and bound to its execution and id, then notifies the streams of
   * other instances once.
   */
  private async store(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    events: readonly StoredEvent[],
  ): Promise<void> {
    const key = this.keyring.current;
    const createdAt = this.clock.now();
    await tx.insert(executionEvents).values(
      events.map((e) => ({
        executionId: row.id,
        seq: e.seq,
        userId: row.userId,
        type: e.type,
        keyId: key.id,
        data: encrypt(key, JSON.stringify(e.data), eventAad(row.id, e.seq)),
        createdAt,
      })),
    );
    await tx.execute(sql`select pg_notify(${EXECUTION_CHANNEL}, ${row.id})`);
  }

  /**
   * Adds event `type` of the execution `live` runs: served to this instance's streams at once, stored by
   * {@link flush}.
   */
  private produce(id: string, live: LiveRun, type: string, data: unknown): void {
    const event: StoredEvent = { seq: live.nextSeq, type, data };
    live.events.push(event);
    live.pending.push(event);
    this.hub.poke(id);
    void this.flush(id, live);
  }

  /**
   * Stores the pending events of `live` (execution `id`) behind the stream: one transaction per batch
   * (row lock, status check, one insert, one notification); the next batch is whatever was produced while
   * the previous one was written. A batch that finds the execution no longer `running` (ended by a cancel
   * elsewhere) or cannot be written stops the run's storing ({@link LiveRun.stopped}). Never rejects.
   */
  private flush(id: string, live: LiveRun): Promise<void> {
    if (live.writing) return live.writing;
    const writing = (async () => {
      while (live.pending.length > 0 && !live.stopped) {
        const batch = live.pending;
        live.pending = [];
        try {
          const stored = await withUser(this.db, live.userId, async (tx) => {
            const row = await this.lock(tx, live.userId, id);
            if (row?.status !== 'running') return false;
            await this.store(tx, row, batch);
            return true;
          });
          if (stored) live.stored = batch.at(-1)!.seq;
          else live.stopped = true;
        } catch (error) {
          live.stopped = true;
          live.failure = error;
        }
      }
      if (live.stopped) live.pending = [];
    })();
    live.writing = writing.finally(() => {
      live.writing = undefined;
      // Produced after the last batch was taken and before this write ended: the next batch.
      if (live.pending.length > 0 && !live.stopped) void this.flush(id, live);
    });
    return live.writing;
  }

  /**
   * Resolves when every event this instance's run of execution `id` has produced so far is stored (at
   * once when the execution is not running here), or its storing stopped. Never rejects.
   */
  async flushed(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live) await this.settle(id, live);
  }

  /** Resolves when every event `live` has produced so far is stored (or storing stopped). */
  private async settle(id: string, live: LiveRun): Promise<void> {
    const target = live.nextSeq - 1;
    while (live.stored < target && !live.stopped) await this.flush(id, live);
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
    const live = new LiveRun(userId);
    this.live.set(id, live);
    this.renewal ??= setInterval(() => void this.renewLeases(), EXECUTION_LEASE_MS / 3).unref();
    const done = (async () => {
      const startedAt = this.clock.now();
      // The final event is stored after every event before it.
      const end = async (outcome: Outcome, cancelReason?: 'cancel_route' | 'client_disconnected') => {
        await this.settle(id, live);
        await this.finish(ctx, userId, id, startedAt, outcome, cancelReason);
      };
      try {
        if (!(await this.begin(userId, id, startedAt, live))) return;
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
          if (live.stopped) {
            if (live.failure) throw live.failure;
            // A cancel (possibly on another instance) ended the row: stop the provider call here.
            controller.abort();
            break;
          }
          this.produce(id, live, 'output.delta', { text });
        }
        const result = await stream.result();
        await this.settle(id, live);
        if (live.failure) throw live.failure;
        await end({
          status: 'succeeded',
          output: result.text,
          inputTokens: result.usage.inputTokens,
          outputTokens: result.usage.outputTokens,
          finishReason: result.finishReason,
        });
      } catch (error) {
        if (controller.signal.aborted) {
          await end({ status: 'cancelled' }, reason ?? 'cancel_route');
        } else {
          const code = error instanceof ProviderError ? error.code : 'internal_error';
          if (!(error instanceof ProviderError))
            this.log.error({ err: error, executionId: id }, 'execution failed');
          await end({ status: 'failed', errorCode: code });
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(id);
        this.live.delete(id);
        if (this.live.size === 0) {
          clearInterval(this.renewal);
          this.renewal = undefined;
        }
        // Streams here that were sent events which were then dropped read the stored ones from there on.
        if (live.stopped) this.hub.rewind(id, live.stored);
        this.hub.poke(id);
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
    // Running here: what its streams were sent is stored first, so the cancel event follows it.
    const live = this.live.get(id);
    if (live) await this.settle(id, live);
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

  /**
   * Events of execution `id` of `userId` with `seq` above `afterSeq`, in order: from memory while this
   * instance runs it (stored or not yet), else the stored events, decrypted.
   */
  async events(userId: string, id: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const live = this.live.get(id);
    const held = live?.userId === userId ? live.after(afterSeq, limit) : undefined;
    if (held) return held;
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

  /**
   * Renews the lease of every execution this instance is running ({@link EXECUTION_LEASE_MS} from now);
   * called every third of the lease while any runs. Resolves to how many leases were renewed; a failure is
   * logged (the next renewal tries again).
   */
  async renewLeases(): Promise<number> {
    const byUser = new Map<string, string[]>();
    for (const [id, live] of this.live) byUser.set(live.userId, [...(byUser.get(live.userId) ?? []), id]);
    let renewed = 0;
    const leaseExpiresAt = new Date(this.clock.now().getTime() + EXECUTION_LEASE_MS);
    for (const [userId, ids] of byUser) {
      try {
        const rows = await withUser(this.db, userId, (tx) =>
          tx
            .update(executions)
            .set({ leaseExpiresAt })
            .where(
              and(
                eq(executions.userId, userId),
                inArray(executions.id, ids),
                eq(executions.status, 'running'),
              ),
            )
            .returning({ id: executions.id }),
        );
        renewed += rows.length;
      } catch (error) {
        this.log.warn({ err: error }, 'execution leases could not be renewed; retrying at the next renewal');
      }
    }
    return renewed;
  }

  /**
   * Fails every execution whose instance died (claim C32): a running agent execution whose lease expired,
   * or a queued agent execution that never began within {@link EXECUTION_LEASE_MS} of its creation, ends
   * `failed` with error code `instance_lost` and its final events (so streams following it end). No quota
   * is charged (the unit was counted once, when it started). Executions this instance runs are never
   * touched; flow runs are left to their pg-boss job, which resumes them. Run at start-up and every minute
   * by the `executions.sweep` job. Resolves to the ids it failed.
   */
  async sweepLost(): Promise<string[]> {
    const now = this.clock.now();
    const queuedBefore = new Date(now.getTime() - EXECUTION_LEASE_MS);
    const lost = await this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      await tx.execute(sql`select set_config('app.lease_sweep', 'on', true)`);
      return tx
        .select({ id: executions.id, userId: executions.userId, startedAt: executions.startedAt })
        .from(executions)
        .where(
          and(
            isNotNull(executions.model),
            or(
              and(eq(executions.status, 'running'), lt(executions.leaseExpiresAt, now)),
              and(eq(executions.status, 'queued'), lt(executions.createdAt, queuedBefore)),
            ),
          ),
        )
        .orderBy(asc(executions.createdAt))
        .limit(1000);
    });
    const failed: string[] = [];
    for (const row of lost) {
      if (this.live.has(row.id)) continue;
      const ended = await this.finish(SYSTEM_AUDIT_CONTEXT, row.userId, row.id, row.startedAt ?? now, {
        status: 'failed',
        errorCode: 'instance_lost',
      });
      if (ended) failed.push(row.id);
    }
    if (failed.length > 0) this.log.warn({ executionIds: failed }, 'executions of a lost instance failed');
    return failed;
  }

  /** Cancels every run of this instance and waits for them to settle (server shutdown). */
  async close(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await Promise.allSettled([...this.runs]);
    clearInterval(this.renewal);
    this.renewal = undefined;
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
