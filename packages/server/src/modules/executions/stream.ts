import { EXECUTION_STREAM_HEARTBEAT_SECONDS } from '@fleece/sdk/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../db/client.js';
import type { StreamSink } from '../audit/stream.js';

/**
 * Live execution streams across instances, built like the audit stream (src/modules/audit/stream.ts): the
 * events are rows of `execution_events`, and a notification on {@link EXECUTION_CHANNEL} (payload: the
 * execution id) only says "look again". A stream reads what follows the last id it sent through its
 * {@link EventLoader}, so a lost notification delays an event until the next one or the heartbeat, and can
 * neither lose nor duplicate it. On the instance running an execution the loader answers from that run's
 * events in memory (ids assigned there, stored behind in batches; src/modules/executions/service.ts), and
 * the run pokes its streams ({@link ExecutionStreamHub.poke}) as each event is produced; elsewhere it reads
 * the database, poked by the notification of each stored batch.
 */

/** The notification channel of execution events. */
export const EXECUTION_CHANNEL = 'fleece_execution';

/** One stored event of an execution as a stream sends it. */
export interface StoredEvent {
  /** The SSE id: 1, 2, … per execution. */
  seq: number;
  type: string;
  /** The event's JSON `data`, decrypted. */
  data: unknown;
}

/** Reads up to `limit` events of execution `executionId` (owned by `userId`) with `seq` above `afterSeq`. */
export type EventLoader = (
  userId: string,
  executionId: string,
  afterSeq: number,
  limit: number,
) => Promise<StoredEvent[]>;

/** The event that ends every execution stream. */
export const DONE_EVENT = 'done';

const BATCH = 100;

/** Formats one execution event as a Server-Sent Event: `id`, `event` and one `data` line. */
export function formatExecutionEvent(event: StoredEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

class Subscription {
  private pumping = false;
  private again = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly userId: string,
    readonly executionId: string,
    private lastSent: number,
    private readonly sink: StreamSink,
    private readonly hub: ExecutionStreamHub,
    private readonly load: EventLoader,
    private readonly log: FastifyBaseLogger,
    private readonly heartbeatMs: number,
  ) {}

  start(): void {
    this.heartbeat = setInterval(() => {
      if (this.closed) return;
      this.sink.write(': ping\n\n');
      this.pump();
    }, this.heartbeatMs);
    this.pump();
  }

  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      // `pumping` is cleared in the same step as the last `again` check: a signal arriving after that
      // check starts a new pump instead of being lost until the heartbeat.
      try {
        do {
          this.again = false;
          try {
            await this.drain();
          } catch (error) {
            this.log.warn(
              { err: error },
              'execution stream could not read events; retrying on the next signal',
            );
            return;
          }
        } while (this.again && !this.closed);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const rows = await this.load(this.userId, this.executionId, this.lastSent, BATCH);
      for (const row of rows) {
        if (this.closed) return;
        this.lastSent = row.seq;
        if (!this.sink.write(formatExecutionEvent(row))) await this.sink.waitForDrain();
        if (row.type === DONE_EVENT) {
          this.end();
          return;
        }
      }
      if (rows.length < BATCH || this.closed) return;
    }
  }

  /**
   * Moves the position back to `seq` when it is past it: events the instance running the execution sent
   * from memory and then could not store (the execution was ended elsewhere first) are replaced by what the
   * database holds from `seq` on.
   */
  rewind(seq: number): void {
    if (this.lastSent > seq) this.lastSent = seq;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.hub.remove(this);
  }

  end(): void {
    this.close();
    this.sink.end();
  }
}

/** A handle on one open execution stream. */
export interface ExecutionStream {
  /** Stops the stream (the client went away); idempotent. */
  close(): void;
}

/**
 * Serves execution streams on one instance: one LISTEN on {@link EXECUTION_CHANNEL} while any stream is
 * open, fanned out to the streams of the execution named. A stream ends by itself after the `done` event.
 */
export class ExecutionStreamHub {
  private readonly subscriptions = new Set<Subscription>();
  private listening: Promise<() => Promise<void>> | undefined;

  constructor(
    private readonly database: Database,
    private readonly load: EventLoader,
    private readonly log: FastifyBaseLogger,
    private readonly heartbeatMs = EXECUTION_STREAM_HEARTBEAT_SECONDS * 1000,
  ) {}

  /** How many streams are open on this instance. */
  get size(): number {
    return this.subscriptions.size;
  }

  /**
   * Opens a stream of execution `executionId` that sends every event with a `seq` above `afterSeq`, then
   * each new one as it commits, until `done`.
   * @throws when the LISTEN cannot be established.
   */
  async open(
    userId: string,
    executionId: string,
    afterSeq: number,
    sink: StreamSink,
  ): Promise<ExecutionStream> {
    await this.listen();
    const s = new Subscription(
      userId,
      executionId,
      afterSeq,
      sink,
      this,
      this.load,
      this.log,
      this.heartbeatMs,
    );
    this.subscriptions.add(s);
    s.start();
    return s;
  }

  /** Tells the streams of `executionId` on this instance that new events are committed. */
  poke(executionId: string): void {
    for (const s of this.subscriptions) if (s.executionId === executionId) s.pump();
  }

  /** Rewinds the streams of `executionId` on this instance to `seq` ({@link Subscription.rewind}). */
  rewind(executionId: string, seq: number): void {
    for (const s of this.subscriptions) if (s.executionId === executionId) s.rewind(seq);
  }

  private listen(): Promise<unknown> {
    this.listening ??= this.database
      .listen(EXECUTION_CHANNEL, (payload) => this.poke(payload), {
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
