import type { AuditEvent, AuditStreamEventSchemas } from '@fleece/sdk/contract';
import { AUDIT_STREAM_EVENT } from '@fleece/sdk/contract';
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { type Database, type Db, rowsOf } from '../../db/client.js';
import { StreamHub } from '../../streams/hub.js';
import { sseFrame } from '../../streams/sse.js';

/**
 * Live audit events across instances (PostgreSQL LISTEN/NOTIFY), in two halves:
 *
 * - {@link AuditNotifier}, on the writing instance, announces each recorded event on {@link AUDIT_CHANNEL}
 *   once its transaction has committed;
 * - {@link auditStreamHub}, on every instance, holds one LISTEN (src/streams/hub.ts) and fans each
 *   announcement out to the Server-Sent Event streams it serves. A stream reads events from the database (never from the
 *   notification), so a notification only says "look again": a lost one delays an event until the next
 *   notification or heartbeat, and cannot lose or duplicate it.
 *
 * Why the notifier does not NOTIFY inside the recording transaction: PostgreSQL serialises the commits of
 * every transaction that sent a NOTIFY on one database-wide lock, held through the commit's WAL flush.
 * Measured here with 16 writers, a NOTIFY in each transaction cut commits from ~4,900/s to ~1,400/s. The
 * notifier instead announces committed events in batches from its own short transactions.
 */

/** The notification channel of audit events. */
export const AUDIT_CHANNEL = 'fleece_audit';

/**
 * Payload of one notification: `c <chain> <id>` when event `<id>` of `<chain>` committed, `a <chain> <id>`
 * when the transaction that took id `<id>` rolled back (the id will never appear).
 */
const PAYLOAD = /^([ca]) (system|sub_[0-9a-f]{32}) ([1-9][0-9]{0,15})$/;

/** How long a committed transaction's event may stay invisible before the notifier gives up on it. */
const INVISIBLE_TRIES = 20;
/** Events announced per notifier round trip. */
const NOTIFY_BATCH = 500;

interface Pending {
  chain: string;
  xactId: string;
  tries: number;
}

/**
 * Announces recorded events once they are committed. `enqueue` is called by `audit.record` with the event
 * id, its chain and the recording transaction's id (`pg_current_xact_id()`). A flush, a few milliseconds
 * later and then backing off from `minDelayMs` to `maxDelayMs` while nothing changes, asks the database in
 * one statement which of the pending events are visible (committed) and which transactions aborted, and
 * sends `c …` / `a …` notifications for them from that statement's own transaction.
 */
export class AuditNotifier {
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private delayMs: number;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
    private readonly options: { minDelayMs: number; maxDelayMs: number } = {
      minDelayMs: 10,
      maxDelayMs: 250,
    },
  ) {
    this.delayMs = options.minDelayMs;
  }

  /** Queues event `id` of `chain`, recorded in transaction `xactId`, for announcement after its commit. */
  enqueue(id: number, chain: string, xactId: string): void {
    if (this.closed) return;
    this.pending.set(id, { chain, xactId, tries: 0 });
    this.delayMs = this.options.minDelayMs;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.pending.size === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    }, this.delayMs);
    this.timer.unref();
  }

  /** Announces what is committed now and forgets what rolled back; never throws. */
  async flush(): Promise<void> {
    const batch = [...this.pending].slice(0, NOTIFY_BATCH);
    if (batch.length === 0) return;
    // Every value is a validated id, chain or transaction id, so array literals are safe to build here.
    const ids = `{${batch.map(([id]) => id).join(',')}}`;
    const chains = `{${batch.map(([, p]) => p.chain).join(',')}}`;
    const xacts = `{${batch.map(([, p]) => p.xactId).join(',')}}`;
    let settled = 0;
    try {
      const result = await this.db.execute(sql`
        select p.id, (e.id is not null) as visible, s.status,
          case
            when e.id is not null then pg_notify(${AUDIT_CHANNEL}, 'c ' || p.chain || ' ' || p.id)
            when s.status = 'aborted' then pg_notify(${AUDIT_CHANNEL}, 'a ' || p.chain || ' ' || p.id)
          end as notified
        from unnest(${ids}::bigint[], ${chains}::text[], ${xacts}::xid8[]) as p(id, chain, x)
        cross join lateral (select pg_xact_status(p.x) as status) s
        left join audit_events e on e.id = p.id`);
      for (const row of rowsOf<{ id: number | string; visible: boolean; status: string | null }>(result)) {
        const id = Number(row.id);
        const entry = this.pending.get(id);
        if (!entry) continue;
        if (row.visible || row.status === 'aborted' || row.status === null) {
          this.pending.delete(id);
          settled++;
        } else if (row.status === 'committed' && ++entry.tries >= INVISIBLE_TRIES) {
          // Committed without the row: the insert was rolled back to a savepoint.
          this.pending.delete(id);
          settled++;
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'audit notifier could not announce events; retrying');
    }
    this.delayMs =
      settled > 0 ? this.options.minDelayMs : Math.min(this.delayMs * 2, this.options.maxDelayMs);
  }

  /** Stops the timer and makes one last attempt to announce what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.pending.size > 0) await this.flush();
    this.pending.clear();
  }
}

/** What a stream serves: one chain (a person's own log) or, for admins, every chain. */
export type StreamScope = { chain: string } | { chain: null };

/** One event as a stream sends it: its numeric id and its wire form. */
export interface StreamEvent {
  id: number;
  event: AuditEvent;
}

/** Reads up to `limit` events of `scope` with ids above `afterId`, in ascending id order. */
export type StreamLoader = (scope: StreamScope, afterId: number, limit: number) => Promise<StreamEvent[]>;

/** Options of {@link auditStreamHub}. */
export interface AuditStreamOptions {
  /**
   * Admin streams (every chain) deliver in id order. An id that is missing while later ones are visible
   * belongs to a transaction still running, or to one that rolled back; the stream waits for it at most
   * this long, in ms (default 2,000), unless the notifier reports the rollback first.
   */
  gapWaitMs?: number;
}

/**
 * What one audit stream follows: its scope and, for an admin stream, the ids the notifier reported rolled
 * back and since when (ms, `performance.now()`) the stream has waited on a gap.
 */
export class AuditTopic {
  /** Ids announced as rolled back (`a …`) that the stream has not passed yet. */
  readonly aborted = new Set<number>();
  /** When the stream first found the gap it waits on, or `undefined` when it waits on none. */
  gapSeenAt: number | undefined;

  constructor(readonly scope: StreamScope) {}
}

/** The hub of live audit streams: a {@link StreamHub} over {@link AuditTopic}s, ids and {@link StreamEvent}s. */
export type AuditStreamHub = StreamHub<AuditTopic, number, StreamEvent>;

/**
 * Whether an admin stream at `after` may send event `id` now (0): it is the next id, or every id before it
 * is known to be rolled back, or the gap has lasted `gapWaitMs`; otherwise how many ms are left to wait.
 */
function gapWait(topic: AuditTopic, after: number, id: number, gapWaitMs: number): number {
  if (topic.scope.chain !== null) return 0;
  let next = after + 1;
  while (next < id && topic.aborted.delete(next)) next++;
  const now = performance.now();
  if (next !== id) {
    topic.gapSeenAt ??= now;
    const left = topic.gapSeenAt + gapWaitMs - now;
    if (left > 0) return left;
  }
  topic.gapSeenAt = undefined;
  for (const aborted of topic.aborted) if (aborted <= id) topic.aborted.delete(aborted);
  return 0;
}

/**
 * The audit streams of one instance: one LISTEN on {@link AUDIT_CHANNEL} while any stream is open; a
 * `c <chain> <id>` notification pumps the streams of that chain (and admin streams), an `a <chain> <id>`
 * tells admin streams that the id will never appear. Events are read with `load` and sent as
 * `event: audit.event` with the event's `evt_…` id.
 */
export function auditStreamHub(
  database: Database,
  load: StreamLoader,
  log: FastifyBaseLogger,
  options: AuditStreamOptions = {},
): AuditStreamHub {
  const gapWaitMs = options.gapWaitMs ?? 2_000;
  const hub: AuditStreamHub = new StreamHub(
    database,
    {
      load: (topic, after, limit) => load(topic.scope, after, limit),
      idOf: (row) => row.id,
      frame: (row) =>
        sseFrame<typeof AuditStreamEventSchemas>(
          { event: AUDIT_STREAM_EVENT, data: row.event },
          row.event.id,
        ),
      holdMs: (topic, after, row) => gapWait(topic, after, row.id, gapWaitMs),
    },
    log,
    {
      name: 'audit stream',
      channel: AUDIT_CHANNEL,
      onNotification: (payload) => {
        const match = PAYLOAD.exec(payload);
        if (!match) return;
        const [, kind, chain, raw] = match;
        const id = Number(raw);
        for (const stream of hub.streams()) {
          const { scope, aborted } = stream.topic;
          if (id <= stream.position || (scope.chain !== null && scope.chain !== chain)) continue;
          if (kind === 'a') {
            if (scope.chain !== null) continue;
            aborted.add(id);
          }
          stream.pump();
        }
      },
    },
  );
  return hub;
}
