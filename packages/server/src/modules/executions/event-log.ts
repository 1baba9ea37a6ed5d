import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { executionEvents, executions } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { EXECUTION_CHANNEL, type ExecutionStreamHub, type StoredEvent } from './stream.js';

/** A row of `executions`. */
export type ExecutionRow = typeof executions.$inferSelect;

/** The additional authenticated data binding a stored stream event to its execution and position. */
export function eventAad(executionId: string, seq: number): string {
  return `execution_event:${executionId}:${seq}`;
}

/**
 * Execution `id` of `userId` inside `tx`, locked (`SELECT … FOR UPDATE`) until `tx` ends; `undefined` when
 * `userId` has none.
 */
export async function lockExecution(tx: Db, userId: string, id: string): Promise<ExecutionRow | undefined> {
  const [row] = await tx
    .select()
    .from(executions)
    .where(and(eq(executions.id, id), eq(executions.userId, userId)))
    .for('update');
  return row;
}

/**
 * The events of an execution this instance is running, held in memory from `execution.started` on while it
 * runs. Ids are assigned here (1, 2, … per execution, continuing the stored ones), streams on this
 * instance read the events at once, and the events are stored behind in batches ({@link EventLog.flush}):
 * a stream that reconnects elsewhere with `Last-Event-ID` continues from the same ids.
 */
export class LiveRun {
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

/** What an {@link EventLog} needs. */
export interface EventLogOptions {
  database: Database;
  keyring: Keyring;
  clock: Clock;
  /** The streams of this instance, poked as events are produced and stored. */
  hub: ExecutionStreamHub;
}

/**
 * The event log of executions (`execution_events`): persists events (each `data` an AES-256-GCM envelope
 * under the current key, bound to its execution and id), batches the events of the runs on this instance
 * ({@link LiveRun}: one transaction and one notification on {@link EXECUTION_CHANNEL} per batch), and
 * replays them for streams: from memory while this instance runs the execution, else from the database.
 */
export class EventLog {
  /** The runs of this instance by execution id. */
  readonly live = new Map<string, LiveRun>();

  constructor(private readonly deps: EventLogOptions) {}

  /**
   * Appends event `type` to execution `row` inside `tx` (which holds the row's lock): the next `seq` after
   * the stored ones, `data` sealed, and a notification for the streams of other instances.
   */
  async append(
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
  async store(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    events: readonly StoredEvent[],
  ): Promise<void> {
    const key = this.deps.keyring.current;
    const createdAt = this.deps.clock.now();
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

  /** Starts holding the events of execution `id` of `userId` in memory ({@link LiveRun}). */
  open(id: string, userId: string): LiveRun {
    const live = new LiveRun(userId);
    this.live.set(id, live);
    return live;
  }

  /**
   * Stops holding the events of execution `id` in memory; streams here that were sent events which were
   * then dropped read the stored ones from there on.
   */
  close(id: string, live: LiveRun): void {
    this.live.delete(id);
    if (live.stopped) this.deps.hub.rewind(id, live.stored);
    this.deps.hub.poke(id);
  }

  /**
   * Adds event `type` of the execution `live` runs: served to this instance's streams at once, stored by
   * {@link flush}.
   */
  produce(id: string, live: LiveRun, type: string, data: unknown): void {
    const event: StoredEvent = { seq: live.nextSeq, type, data };
    live.events.push(event);
    live.pending.push(event);
    this.deps.hub.poke(id);
    void this.flush(id, live);
  }

  /**
   * Stores the pending events of `live` (execution `id`) behind the stream: one transaction per batch
   * (row lock, status check, one insert, one notification); the next batch is whatever was produced while
   * the previous one was written. A batch that finds the execution no longer `running` (ended by a cancel
   * elsewhere) or cannot be written stops the run's storing ({@link LiveRun.stopped}). Never rejects.
   */
  flush(id: string, live: LiveRun): Promise<void> {
    if (live.writing) return live.writing;
    const writing = (async () => {
      while (live.pending.length > 0 && !live.stopped) {
        const batch = live.pending;
        live.pending = [];
        try {
          const stored = await withUser(this.deps.database.db, live.userId, async (tx) => {
            const row = await lockExecution(tx, live.userId, id);
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

  /** Resolves when every event `live` (execution `id`) has produced so far is stored, or storing stopped. */
  async settle(id: string, live: LiveRun): Promise<void> {
    const target = live.nextSeq - 1;
    while (live.stored < target && !live.stopped) await this.flush(id, live);
  }

  /**
   * Resolves when every event this instance's run of execution `id` has produced so far is stored (at
   * once when the execution is not running here), or its storing stopped. Never rejects.
   */
  async flushed(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live) await this.settle(id, live);
  }

  /**
   * Events of execution `id` of `userId` with `seq` above `afterSeq`, in order, at most `limit`: from memory
   * while this instance runs it (stored or not yet), else the stored events, decrypted.
   */
  async events(userId: string, id: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const live = this.live.get(id);
    const held = live?.userId === userId ? live.after(afterSeq, limit) : undefined;
    if (held) return held;
    const rows = await withUser(this.deps.database.db, userId, (tx) =>
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
      data: JSON.parse(decrypt(this.deps.keyring, r.data, eventAad(id, r.seq)).toString('utf8')),
    }));
  }
}
