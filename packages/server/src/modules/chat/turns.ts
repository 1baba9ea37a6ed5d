import type { ChatEventSchemas, SseEvent } from '@fleece/sdk/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../db/client.js';
import { type HubStream, StreamHub } from '../../streams/hub.js';
import { type StreamSink, sseFrame } from '../../streams/sse.js';

/** One event of a chat stream, typed by the contract ({@link ChatEventSchemas}). */
export type ChatStreamEvent = SseEvent<typeof ChatEventSchemas>;

/**
 * How long a streamed reply goes on after its last stream closed before `done`, in ms: the time a client
 * whose connection dropped has to resume it (`GET /api/v1/conversations/:id/stream`). Past it the reply is
 * cancelled, as when the client closed the stream on purpose.
 */
export const CHAT_RESUME_GRACE_MS = 10_000;

/** How long a finished reply's events stay available for a resume, in ms. */
export const CHAT_TURN_RETAIN_MS = 60_000;

/** One event of a turn with its SSE id (1, 2, … per turn). */
interface TurnEvent {
  id: number;
  event: ChatStreamEvent;
}

/** One streamed reply (a chat turn) this instance runs or ran lately: its events, in id order. */
export class ChatTurn {
  readonly events: TurnEvent[] = [];
  /** Aborts the provider call of the reply. */
  readonly abort = new AbortController();
  /** Set once `done` is in {@link events}. */
  finished = false;
  /** Cancels the reply when no stream resumed it in time. */
  grace: NodeJS.Timeout | undefined;

  constructor(
    readonly userId: string,
    readonly conversationId: string,
  ) {}
}

/**
 * The streamed chat replies of this instance, resumable with `Last-Event-ID`. A turn's events are held in
 * memory (ids 1, 2, … per turn) while it runs and for {@link CHAT_TURN_RETAIN_MS} after `done`, and every
 * stream of the turn (the `POST /api/v1/chat` response and any resume) reads them through one
 * {@link StreamHub} from its `Last-Event-ID` on. The reply no longer depends on the connection that asked
 * for it: when the last stream of a running turn closes, the reply is cancelled unless a stream resumes it
 * within {@link CHAT_RESUME_GRACE_MS}. Only the latest turn of a conversation is kept, and only on the
 * instance that runs it: the events are not stored, so a resume must reach that instance.
 */
export class ChatTurns {
  private readonly turns = new Map<string, ChatTurn>();
  /** Every turn not finished yet, also one a newer turn of its conversation replaced in {@link turns}. */
  private readonly running = new Set<ChatTurn>();
  private readonly retained = new Set<NodeJS.Timeout>();
  private readonly hub: StreamHub<ChatTurn, number, TurnEvent>;

  constructor(database: Database, log: FastifyBaseLogger) {
    this.hub = new StreamHub<ChatTurn, number, TurnEvent>(
      database,
      {
        load: async (turn, after, limit) => turn.events.slice(after, after + limit),
        idOf: (e) => e.id,
        frame: (e) => sseFrame<typeof ChatEventSchemas>(e.event, e.id),
        isLast: (e) => e.event.event === 'done',
      },
      log,
      { name: 'chat stream' },
    );
  }

  /** How many chat streams are open on this instance. */
  get size(): number {
    return this.hub.size;
  }

  /** Starts a turn of `conversationId` (the one kept before is no longer resumable). */
  begin(userId: string, conversationId: string): ChatTurn {
    const turn = new ChatTurn(userId, conversationId);
    this.turns.set(conversationId, turn);
    this.running.add(turn);
    return turn;
  }

  /** The turn of `conversationId` kept here, when `userId` owns it. */
  get(userId: string, conversationId: string): ChatTurn | undefined {
    const turn = this.turns.get(conversationId);
    return turn?.userId === userId ? turn : undefined;
  }

  /**
   * Forgets the turn of `conversationId` when `userId` owns it (the conversation was deleted): it is no
   * longer resumable, and a reply still running is cancelled.
   */
  drop(userId: string, conversationId: string): void {
    const turn = this.get(userId, conversationId);
    if (!turn) return;
    this.turns.delete(conversationId);
    if (!turn.finished) turn.abort.abort();
  }

  /** Appends `event` to `turn` and sends it to the turn's streams; `done` finishes the turn. */
  push(turn: ChatTurn, event: ChatStreamEvent): void {
    if (turn.finished) return;
    turn.events.push({ id: turn.events.length + 1, event });
    if (event.event === 'done') this.finish(turn);
    this.hub.poke((t) => t === turn);
  }

  /**
   * Opens a stream of `turn` on `sink` from after event `after`, until `done`; it keeps a running turn
   * from being cancelled.
   */
  open(turn: ChatTurn, after: number, sink: StreamSink): Promise<HubStream<ChatTurn, number>> {
    clearTimeout(turn.grace);
    turn.grace = undefined;
    // A Last-Event-ID past what the turn produced (no client saw such an id) reads from its end; past the
    // end of a finished turn, `done` is sent again, so the stream ends instead of staying open for ever.
    const end = turn.finished ? turn.events.length - 1 : turn.events.length;
    return this.hub.open(turn, Math.min(after, end), sink);
  }

  /**
   * A stream of `turn` closed before `done`: when none is left, the reply is cancelled after
   * {@link CHAT_RESUME_GRACE_MS} unless a stream resumes it.
   */
  left(turn: ChatTurn): void {
    if (turn.finished || turn.grace) return;
    for (const stream of this.hub.streams()) if (stream.topic === turn) return;
    turn.grace = setTimeout(() => {
      turn.grace = undefined;
      turn.abort.abort();
    }, CHAT_RESUME_GRACE_MS);
    turn.grace.unref();
  }

  private finish(turn: ChatTurn): void {
    turn.finished = true;
    this.running.delete(turn);
    clearTimeout(turn.grace);
    turn.grace = undefined;
    const timer = setTimeout(() => {
      this.retained.delete(timer);
      if (this.turns.get(turn.conversationId) === turn) this.turns.delete(turn.conversationId);
    }, CHAT_TURN_RETAIN_MS);
    timer.unref();
    this.retained.add(timer);
  }

  /** Cancels the running replies and ends every stream (server shutdown). */
  async close(): Promise<void> {
    for (const turn of this.running) {
      clearTimeout(turn.grace);
      turn.abort.abort();
    }
    this.running.clear();
    for (const timer of this.retained) clearTimeout(timer);
    this.retained.clear();
    this.turns.clear();
    await this.hub.close();
  }
}
