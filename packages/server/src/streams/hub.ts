import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/client.js';
import { type StreamSink, writeFrame } from './sse.js';

/**
 * One hub of live Server-Sent Event streams on this instance, generic over what a stream follows (its
 * topic: an audit chain, an execution, a chat turn), its event ids (numbers or bigints, ascending within a
 * topic) and its events. Every stream reads its events through {@link StreamSource.load} from the last id
 * it sent, never from a notification: a notification, or a {@link StreamHub.poke} from the code producing
 * the events, only says "look again". So a lost notification delays an event until the next one or the
 * heartbeat ({@link HubStream.pump}), and can neither lose nor duplicate it.
 *
 * With a `channel`, the hub holds one PostgreSQL `LISTEN` while any stream is open (opened with the first,
 * closed with the last), hands each notification to `onNotification`, and after the listening connection
 * is re-established makes every stream re-read from its last sent id, so notifications lost meanwhile cost
 * nothing. Without one, the streams are only poked in process.
 */

/** Where a hub's streams read from, and how they write. */
export interface StreamSource<Topic, Id extends number | bigint, E> {
  /** Up to `limit` events of `topic` with ids above `after`, in ascending id order. */
  load(topic: Topic, after: Id, limit: number): Promise<E[]>;
  /** The event's id: the SSE `id:`, and the position a stream moves to once it is sent. */
  idOf(event: E): Id;
  /** The event as an SSE frame ({@link sseFrame}). */
  frame(event: E): string;
  /** Whether `event` is the stream's last: the response ends once it is sent. */
  isLast?(event: E): boolean;
  /**
   * How long, in ms, a stream at `after` must wait before sending `event` (an earlier id may still commit);
   * 0 to send it now. Called once more when the wait is over.
   */
  holdMs?(topic: Topic, after: Id, event: E): number;
}

/** A handle on one open stream. */
export interface HubStream<Topic, Id> {
  readonly topic: Topic;
  /** The id of the last event sent (the position the stream reads after). */
  readonly position: Id;
  /** Sends every event after {@link position}; concurrent calls coalesce into one more round. */
  pump(): void;
  /**
   * Moves the position back to `to` when it is past it, so what the store holds from there is sent again
   * (events sent from memory that could not be stored are replaced by what was).
   */
  rewind(to: Id): void;
  /** Stops the stream (the client went away); idempotent. */
  close(): void;
}

/** Options of {@link StreamHub}. */
export interface StreamHubOptions {
  /** The PostgreSQL notification channel announcing new events; none for streams poked in process only. */
  channel?: string;
  /** Handles one notification on `channel`, typically by pumping the streams it names. */
  onNotification?: (payload: string) => void;
  /** What a read failure is logged as. */
  name: string;
}

/** Events read per round trip to the source. */
const BATCH = 100;

class Subscription<Topic, Id extends number | bigint, E> implements HubStream<Topic, Id> {
  private pumping = false;
  private again = false;
  private closed = false;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly topic: Topic,
    public position: Id,
    private readonly sink: StreamSink,
    private readonly hub: StreamHub<Topic, Id, E>,
    private readonly source: StreamSource<Topic, Id, E>,
    private readonly onError: (error: unknown) => void,
  ) {}

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
            this.onError(error);
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
      const rows = await this.source.load(this.topic, this.position, BATCH);
      for (const row of rows) {
        if (this.closed) return;
        const hold = this.source.holdMs?.(this.topic, this.position, row) ?? 0;
        if (hold > 0) {
          this.holdTimer ??= setTimeout(() => {
            this.holdTimer = undefined;
            this.pump();
          }, hold);
          this.holdTimer.unref();
          return;
        }
        this.position = this.source.idOf(row);
        await writeFrame(this.sink, this.source.frame(row));
        if (this.source.isLast?.(row)) {
          this.end();
          return;
        }
      }
      if (rows.length < BATCH || this.closed) return;
    }
  }

  rewind(to: Id): void {
    if (this.position > to) this.position = to;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.holdTimer);
    this.hub.remove(this);
  }

  /** Closes the stream and ends its response. */
  end(): void {
    this.close();
    this.sink.end();
  }
}

/** Serves the live streams of one kind on this instance; see the module comment above. */
export class StreamHub<Topic, Id extends number | bigint, E> {
  private readonly subscriptions = new Set<Subscription<Topic, Id, E>>();
  private listening: Promise<() => Promise<void>> | undefined;

  constructor(
    private readonly database: Database,
    private readonly source: StreamSource<Topic, Id, E>,
    private readonly log: FastifyBaseLogger,
    private readonly options: StreamHubOptions,
  ) {}

  /** How many streams are open on this instance. */
  get size(): number {
    return this.subscriptions.size;
  }

  /** The open streams, for a notification handler to pick from. */
  streams(): Iterable<HubStream<Topic, Id>> {
    return this.subscriptions;
  }

  /**
   * Opens a stream of `topic` that first sends every event with an id above `after`, then each new one
   * as it is announced, until the source's last event or {@link HubStream.close}.
   * @throws when the `LISTEN` cannot be established (the database is unreachable).
   */
  async open(topic: Topic, after: Id, sink: StreamSink): Promise<HubStream<Topic, Id>> {
    await this.listen();
    const subscription = new Subscription(topic, after, sink, this, this.source, (error) =>
      this.log.warn(
        { err: error },
        `${this.options.name} could not read events; retrying on the next signal`,
      ),
    );
    this.subscriptions.add(subscription);
    subscription.pump();
    return subscription;
  }

  /** Tells the streams whose topic `matches` that new events are there. */
  poke(matches: (topic: Topic) => boolean): void {
    for (const s of this.subscriptions) if (matches(s.topic)) s.pump();
  }

  /** Rewinds the streams whose topic `matches` to `to` ({@link HubStream.rewind}). */
  rewind(matches: (topic: Topic) => boolean, to: Id): void {
    for (const s of this.subscriptions) if (matches(s.topic)) s.rewind(to);
  }

  private listen(): Promise<unknown> | undefined {
    const { channel, onNotification } = this.options;
    if (channel === undefined) return undefined;
    this.listening ??= this.database
      .listen(channel, (payload) => onNotification?.(payload), {
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
  remove(subscription: HubStream<Topic, Id>): void {
    this.subscriptions.delete(subscription as Subscription<Topic, Id, E>);
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
