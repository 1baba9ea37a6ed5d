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
  /** The timer that writes the next batch, while one is due. */
  due: NodeJS.Timeout | undefined;

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
    // Never an id more than HANDOVER_SEQ_GAP past the stored ones: an instance that ends this execution
    // (a cancel there, the sweep after this one died) numbers its events after that bound.
    const bound = this.stored + HANDOVER_SEQ_GAP - first + 1;
    return this.events.slice(from, Math.min(from + limit, bound));
  }
}

/**
 * How far past its stored events the instance running an execution may send ids, and so where an instance
 * that ends the execution without running it (a cancel there; the sweep after the running instance died)
 * numbers the final events: after the stored ones plus this gap. A client that received events that were
 * never stored (they die with their instance) resumes with the final event and `done`, under ids it has not
 * seen: ids always increase and never repeat, and jump by up to this gap at such a handover. A run that
 * produces faster than it stores holds its streams back at this bound until the next batch commits.
 */
export const HANDOVER_SEQ_GAP = 10_000;

/**
 * How long an event produced by a run waits in memory before the batch it joins is written, in ms. Streams
 * on this instance get it at once; the delay only decides how often a running execution writes (at most
 * one transaction per delay; a run shorter than it writes all its events in its final transaction) and how
 * soon streams on other instances, and a cancel there, see it.
 */
export const BATCH_DELAY_MS = 200;

/**
 * How long the events of a run that ended here stay in memory, in ms, so the streams still sending them
 * (and a client reconnecting at once) read them without a database round trip.
 */
export const ENDED_RUN_RETENTION_MS = 5_000;

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
  /** Runs that ended here less than {@link ENDED_RUN_RETENTION_MS} ago, with all their events. */
  private readonly ended = new Map<string, { live: LiveRun; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: EventLogOptions) {}

  /**
   * The id the next event of execution `id` gets, from the stored ones (`max(seq) + 1`), inside `tx`
   * (which holds the row's lock). A run on this instance knows its ids without asking
   * ({@link LiveRun.nextSeq}); this is for ending an execution elsewhere (a cancel, a sweep).
   */
  async nextSeq(tx: Db, id: string): Promise<number> {
    const [{ next } = { next: 1 }] = (await tx
      .select({ next: sql<number>`coalesce(max(${executionEvents.seq}), 0) + 1` })
      .from(executionEvents)
      .where(eq(executionEvents.executionId, id))) as { next: number }[];
    return Number(next);
  }

  /**
   * Appends event `type` to execution `row` inside `tx` (which holds the row's lock), after the stored
   * ones ({@link nextSeq}), and returns it.
   */
  async append(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    type: string,
    data: unknown,
  ): Promise<StoredEvent> {
    const event: StoredEvent = { seq: await this.nextSeq(tx, row.id), type, data };
    await this.store(tx, row, [event]);
    return event;
  }

  /**
   * Inserts `events` of execution `row` inside `tx` (which holds the row's lock) in one statement, each
   * `data` sealed under the current key and bound to its execution and id, and notifies the streams of
   * other instances once (the notification in the same statement).
   */
  async store(
    tx: Db,
    row: Pick<ExecutionRow, 'id' | 'userId'>,
    events: readonly StoredEvent[],
  ): Promise<void> {
    const key = this.deps.keyring.current;
    const createdAt = this.deps.clock.now();
    const insert = tx.insert(executionEvents).values(
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
    // One statement, one round trip: a data-modifying WITH runs to completion whether or not it is read,
    // and the notification is delivered when the transaction commits, as a separate NOTIFY would be.
    await tx.execute(
      sql`with inserted as (${insert.getSQL()}) select pg_notify(${EXECUTION_CHANNEL}, ${row.id})`,
    );
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
    clearTimeout(live.due);
    this.live.delete(id);
    if (live.stopped) this.deps.hub.rewind(id, live.stored);
    else if (live.pending.length === 0) {
      const timer = setTimeout(() => this.ended.delete(id), ENDED_RUN_RETENTION_MS).unref();
      clearTimeout(this.ended.get(id)?.timer);
      this.ended.set(id, { live, timer });
    }
    this.deps.hub.poke(id);
  }

  /** Forgets the runs that ended here (server shutdown). */
  forget(): void {
    for (const { timer } of this.ended.values()) clearTimeout(timer);
    this.ended.clear();
  }

  /**
   * Adds event `type` of the execution `live` runs: served to this instance's streams at once, stored by
   * the next batch ({@link flush}), due {@link BATCH_DELAY_MS} after the first event it holds.
   */
  produce(id: string, live: LiveRun, type: string, data: unknown): void {
    // Ended (here or elsewhere) or no longer stored: nothing more is sent under ids the end may take.
    if (live.stopped) return;
    const event: StoredEvent = { seq: live.nextSeq, type, data };
    live.events.push(event);
    live.pending.push(event);
    this.deps.hub.poke(id);
    if (!live.due && !live.stopped) {
      live.due = setTimeout(() => {
        live.due = undefined;
        void this.flush(id, live);
      }, BATCH_DELAY_MS).unref();
    }
  }

  /**
   * Resolves once no batch of `live` is being written and none is due: what is pending
   * then is the caller's to store (the run's final transaction). Never rejects.
   */
  async drain(live: LiveRun): Promise<void> {
    do {
      clearTimeout(live.due);
      live.due = undefined;
      await live.writing;
    } while (live.writing || live.due);
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
          if (stored) {
            live.stored = batch.at(-1)!.seq;
            // Streams held back at the bound of LiveRun.after read on.
            this.deps.hub.poke(id);
          } else live.stopped = true;
        } catch (error) {
          live.stopped = true;
          live.failure = error;
        }
      }
      if (live.stopped) live.pending = [];
    })();
    live.writing = writing.finally(() => {
      live.writing = undefined;
    });
    return live.writing;
  }

  /** Resolves when every event `live` (execution `id`) has produced so far is stored, or storing stopped. */
  async settle(id: string, live: LiveRun): Promise<void> {
    clearTimeout(live.due);
    live.due = undefined;
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
    const live = this.live.get(id) ?? this.ended.get(id)?.live;
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
