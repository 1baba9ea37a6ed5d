import type { AuditEvent } from '@fleece/sdk/contract';
import { AUDIT_STREAM_EVENT, AUDIT_STREAM_HEARTBEAT_SECONDS } from '@fleece/sdk/contract';
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { type Database, type Db, rowsOf } from '../../db/client.js';

/**
 * Live audit events across instances (PostgreSQL LISTEN/NOTIFY), in two halves:
 *
 * - {@link AuditNotifier}, on the writing instance, announces each recorded event on {@link AUDIT_CHANNEL}
 *   once its transaction has committed;
 * - {@link AuditStreamHub}, on every instance, holds one LISTEN and fans each announcement out to the
 *   Server-Sent Event streams it serves. A stream reads events from the database (never from the
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

/** Where a stream writes: a Server-Sent Events response. */
export interface StreamSink {
  /** Writes a chunk; `false` means wait for {@link waitForDrain} before writing more. */
  write(chunk: string): boolean;
  waitForDrain(): Promise<void>;
  end(): void;
}

/** Options of {@link AuditStreamHub}. */
export interface AuditStreamOptions {
  /** Interval of the `: ping` heartbeat, in ms; default 15,000. */
  heartbeatMs?: number;
  /**
   * Admin streams (every chain) deliver in id order. An id that is missing while later ones are visible
   * belongs to a transaction still running, or to one that rolled back; the stream waits for it at most
   * this long, in ms (default 2,000), unless the notifier reports the rollback first.
   */
  gapWaitMs?: number;
}

const BATCH = 100;

/** Formats one audit event as a Server-Sent Event (WHATWG HTML §9.2): `id`, `event` and one `data` line. */
export function formatEvent(event: AuditEvent): string {
  return `id: ${event.id}\nevent: ${AUDIT_STREAM_EVENT}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** One open stream: its scope, the last id it sent, and the pump that sends what follows. */
class Subscription {
  private pumping: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private gapSeenAt: number | undefined;
  private readonly aborted = new Set<number>();

  constructor(
    readonly scope: StreamScope,
    private lastSent: number,
    private readonly sink: StreamSink,
    private readonly hub: AuditStreamHub,
    private readonly load: StreamLoader,
    private readonly log: FastifyBaseLogger,
    private readonly options: Required<AuditStreamOptions>,
  ) {}

  start(): void {
    this.heartbeat = setInterval(() => {
      if (this.closed) return;
      this.sink.write(': ping\n\n');
      // Also the safety net for a lost notification (for example the writer crashed before announcing).
      this.pump();
    }, this.options.heartbeatMs);
    this.pump();
  }

  notify(kind: 'c' | 'a', chain: string, id: number): void {
    if (this.closed || id <= this.lastSent) return;
    if (this.scope.chain !== null && this.scope.chain !== chain) return;
    if (kind === 'a') {
      if (this.scope.chain !== null) return;
      this.aborted.add(id);
    }
    this.pump();
  }

  /** Sends every event after the last one sent; concurrent calls coalesce into one more round. */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        try {
          await this.drain();
        } catch (error) {
          this.log.warn({ err: error }, 'audit stream could not read events; retrying on the next signal');
          return;
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.pumping = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const rows = await this.load(this.scope, this.lastSent, BATCH);
      for (const row of rows) {
        if (this.closed) return;
        if (this.scope.chain === null && !this.inOrder(row.id)) return;
        await this.send(row);
      }
      if (rows.length < BATCH || this.closed) return;
    }
  }

  /**
   * Whether an admin stream may send `id` now: it is the next id, or every id before it is known to be
   * rolled back, or the gap has lasted `gapWaitMs`. Otherwise schedules another pump for when it will have.
   */
  private inOrder(id: number): boolean {
    let next = this.lastSent + 1;
    while (next < id && this.aborted.delete(next)) next++;
    if (next === id) {
      this.gapSeenAt = undefined;
      return true;
    }
    const now = performance.now();
    this.gapSeenAt ??= now;
    const left = this.gapSeenAt + this.options.gapWaitMs - now;
    if (left <= 0) {
      this.gapSeenAt = undefined;
      return true;
    }
    if (!this.gapTimer) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.pump();
      }, left);
      this.gapTimer.unref();
    }
    return false;
  }

  private async send(row: StreamEvent): Promise<void> {
    this.lastSent = row.id;
    for (const id of this.aborted) if (id <= row.id) this.aborted.delete(id);
    if (!this.sink.write(formatEvent(row.event))) await this.sink.waitForDrain();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.gapTimer);
    this.hub.remove(this);
  }

  /** Ends the response (server shutdown). */
  end(): void {
    this.close();
    this.sink.end();
  }
}

/** A handle on one open stream. */
export interface AuditStream {
  /** Stops the stream (the client went away); idempotent. */
  close(): void;
}

/**
 * Serves live audit streams on one instance: one LISTEN on {@link AUDIT_CHANNEL} (opened with the first
 * stream, closed with the last) fanned out to every open stream. After the listening connection is
 * re-established every stream re-reads from its last sent id, so notifications lost meanwhile cost
 * nothing.
 */
export class AuditStreamHub {
  private readonly subscriptions = new Set<Subscription>();
  private listening: Promise<() => Promise<void>> | undefined;
  private readonly options: Required<AuditStreamOptions>;

  constructor(
    private readonly database: Database,
    private readonly load: StreamLoader,
    private readonly log: FastifyBaseLogger,
    options: AuditStreamOptions = {},
  ) {
    this.options = {
      heartbeatMs: options.heartbeatMs ?? AUDIT_STREAM_HEARTBEAT_SECONDS * 1000,
      gapWaitMs: options.gapWaitMs ?? 2_000,
    };
  }

  /** How many streams are open on this instance. */
  get size(): number {
    return this.subscriptions.size;
  }

  /**
   * Opens a stream of `scope` that first sends every event with an id above `afterId`, then each new one
   * as it commits, and a heartbeat comment every `heartbeatMs`.
   * @throws when the LISTEN cannot be established (the database is unreachable).
   */
  async open(scope: StreamScope, afterId: number, sink: StreamSink): Promise<AuditStream> {
    await this.listen();
    const subscription = new Subscription(scope, afterId, sink, this, this.load, this.log, this.options);
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  private listen(): Promise<unknown> {
    this.listening ??= this.database
      .listen(AUDIT_CHANNEL, (payload) => this.dispatch(payload), {
        onReconnect: () => {
          for (const s of this.subscriptions) s.pump();
        },
      })
      .catch((error: unknown) => {
        this.listening = undefined;
        throw error;
      });
    return this.listening;
  }

  private dispatch(payload: string): void {
    const match = PAYLOAD.exec(payload);
    if (!match) return;
    const id = Number(match[3]);
    for (const s of this.subscriptions) s.notify(match[1] as 'c' | 'a', match[2]!, id);
  }

  /** Forgets a closed stream; the last one out stops listening. */
  remove(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size === 0 && this.listening) {
      const listening = this.listening;
      this.listening = undefined;
      listening.then((unlisten) => unlisten()).catch(() => {});
    }
  }

  /** Ends every open stream (server shutdown) and stops listening. */
  async close(): Promise<void> {
    for (const s of [...this.subscriptions]) s.end();
    const listening = this.listening;
    this.listening = undefined;
    await listening?.then((unlisten) => unlisten()).catch(() => {});
  }
}

/** A {@link StreamSink} on a Fastify reply, and `head()`, which sends the stream's response headers once. */
export interface ReplySink extends StreamSink {
  /** Writes the status line and headers (once): the headers Fastify collected plus the SSE ones. */
  head(): void;
}

/**
 * The Server-Sent Events sink of `reply`: writes go to the raw response, sending the headers first (the
 * headers Fastify collected so far, such as security headers, `X-Request-Id` and CORS, with
 * `content-type: text/event-stream`, `cache-control: no-store` and `x-accel-buffering: no`). Shared by every
 * SSE endpoint (audit, executions).
 */
export function replySink(reply: FastifyReply): ReplySink {
  const res = reply.raw;
  const head = () => {
    if (res.headersSent) return;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  };
  return {
    head,
    write: (chunk) => {
      if (res.writableEnded) return true;
      head();
      return res.write(chunk);
    },
    waitForDrain: () =>
      new Promise<void>((resolve) => {
        if (res.writableEnded || res.destroyed) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    end: () => {
      head();
      res.end();
    },
  };
}

/**
 * Answers a request with a Server-Sent Events stream (`text/event-stream`) fed by `hub`. The reply is
 * hijacked once the stream is registered, so the response headers reach the client only when events can
 * flow; the headers Fastify collected so far (security headers, `X-Request-Id`, CORS) are sent with the
 * stream's own. The stream ends when the client disconnects or the server shuts down.
 *
 * @throws when the stream cannot start (the LISTEN failed); the reply is then still Fastify's to answer.
 */
export async function serveEventStream(
  reply: FastifyReply,
  hub: AuditStreamHub,
  scope: StreamScope,
  afterId: number,
): Promise<void> {
  const res = reply.raw;
  const sink = replySink(reply);
  let gone = false;
  let stream: AuditStream | undefined;
  res.on('close', () => {
    gone = true;
    stream?.close();
  });
  stream = await hub.open(scope, afterId, sink);
  reply.hijack();
  sink.head();
  res.flushHeaders();
  if (gone) stream.close();
}
