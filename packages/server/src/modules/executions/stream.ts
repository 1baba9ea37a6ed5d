import type { ExecutionEventSchemas, SseEvent } from '@fleece/sdk/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import { type HubStream, StreamHub } from '../../streams/hub.js';
import { type StreamSink, sseFrame } from '../../streams/sse.js';

/**
 * Live execution streams across instances, on the generic hub (src/streams/hub.ts): the events are rows of
 * `execution_events`, and a notification on {@link EXECUTION_CHANNEL} (payload: the execution id) only
 * says "look again". A stream reads what follows the last id it sent through its {@link EventLoader}, so
 * a lost notification delays an event until the next one or the heartbeat, and can neither lose nor
 * duplicate it. On the instance running an execution the loader answers from that run's events in memory
 * (ids assigned there, stored behind in batches; src/modules/executions/service.ts), and the run pokes its
 * streams ({@link ExecutionStreamHub.poke}) as each event is produced; elsewhere it reads the database,
 * poked by the notification of each stored batch.
 */

/** The notification channel of execution events. */
export const EXECUTION_CHANNEL = 'fleece_execution';

/**
 * One event of an execution as the contract declares it ({@link ExecutionEventSchemas}), named by
 * `type`: what the code producing events should build, so an undeclared event does not compile.
 */
export type ExecutionStreamEvent = {
  [K in keyof Schemas]: { type: K; data: z.input<Schemas[K]> };
}[keyof Schemas];

type Schemas = typeof ExecutionEventSchemas;

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
export const DONE_EVENT = 'done' satisfies ExecutionStreamEvent['type'];

/** What one execution stream follows. */
interface ExecutionTopic {
  userId: string;
  executionId: string;
}

/**
 * Serves execution streams on one instance: one LISTEN on {@link EXECUTION_CHANNEL} while any stream is
 * open, fanned out to the streams of the execution named. A stream ends by itself after the `done` event.
 */
export class ExecutionStreamHub {
  private readonly hub: StreamHub<ExecutionTopic, number, StoredEvent>;

  constructor(database: Database, load: EventLoader, log: FastifyBaseLogger) {
    this.hub = new StreamHub<ExecutionTopic, number, StoredEvent>(
      database,
      {
        load: (topic, after, limit) => load(topic.userId, topic.executionId, after, limit),
        idOf: (event) => event.seq,
        // Stored events were produced as ExecutionStreamEvents and come back from the database untyped.
        frame: (event) =>
          sseFrame<typeof ExecutionEventSchemas>(
            { event: event.type, data: event.data } as SseEvent<typeof ExecutionEventSchemas>,
            event.seq,
          ),
        isLast: (event) => event.type === DONE_EVENT,
      },
      log,
      { name: 'execution stream', channel: EXECUTION_CHANNEL, onNotification: (id) => this.poke(id) },
    );
  }

  /** How many streams are open on this instance. */
  get size(): number {
    return this.hub.size;
  }

  /**
   * Opens a stream of execution `executionId` that sends every event with a `seq` above `afterSeq`, then
   * each new one as it commits, until `done`.
   * @throws when the LISTEN cannot be established.
   */
  open(
    userId: string,
    executionId: string,
    afterSeq: number,
    sink: StreamSink,
  ): Promise<HubStream<ExecutionTopic, number>> {
    return this.hub.open({ userId, executionId }, afterSeq, sink);
  }

  /** Tells the streams of `executionId` on this instance that new events are there. */
  poke(executionId: string): void {
    this.hub.poke((topic) => topic.executionId === executionId);
  }

  /**
   * Rewinds the streams of `executionId` on this instance to `seq`: events the instance running the
   * execution sent from memory and then could not store (the execution was ended elsewhere first) are
   * replaced by what the database holds from `seq` on.
   */
  rewind(executionId: string, seq: number): void {
    this.hub.rewind((topic) => topic.executionId === executionId, seq);
  }

  /** Ends every open stream (server shutdown) and stops listening. */
  close(): Promise<void> {
    return this.hub.close();
  }
}
