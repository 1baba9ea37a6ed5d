import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { z } from 'zod';
import type { EventSchemas } from '../contract/streams.js';
import { timers } from '../internal/timers.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  FleeceError,
  ResponseValidationError,
} from './errors.js';
import { backoffDelay, MAX_RETRY_AFTER_MS, shouldRetry } from './retries.js';

/** One Server-Sent Event as received (WHATWG HTML §9.2). */
export interface ServerSentEvent {
  /** The event type; `message` when the server sent no `event:` field. */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The event's `id:`, or `undefined` when it had none. */
  id: string | undefined;
}

/** What a decoder knows about the stream it decodes. */
export interface DecodeContext {
  /** Whether bodies must be checked against their schemas (`validateResponses`). */
  validate: boolean;
  /** The `X-Request-Id` of the connection the event came on. */
  requestId: string;
}

/**
 * Turns a raw Server-Sent Event into a typed event, or `undefined` to skip it (for example an event type
 * this SDK does not know yet). Throws a {@link FleeceError} for malformed data.
 */
export type EventDecoder<E> = (event: ServerSentEvent, context: DecodeContext) => E | undefined;

/** A map from event type to the zod schema of its JSON `data`: the contract's stream maps are these. */
export type { EventSchemas };

/**
 * The typed event union of an {@link EventSchemas} map: `{ event, id, data }` with `data` typed by the
 * schema of that `event`, so `switch (e.event)` narrows `e.data`.
 */
export type TypedEvent<M extends EventSchemas> = {
  [K in keyof M & string]: { event: K; id: string | undefined; data: z.output<M[K]> };
}[keyof M & string];

/**
 * Builds an {@link EventDecoder} from one zod schema per event type. `data` is parsed as JSON and, with
 * `validateResponses` on, checked against the schema of its event; a mismatch throws a
 * `ResponseValidationError` naming the field path. Events of types not in the map are skipped, so a newer
 * server may add event types without breaking older SDKs.
 *
 * @example
 * const decode = decodeEvents({ message: z.object({ text: z.string() }), done: z.object({}) });
 * // client.stream({ method: 'post', path: '/api/v1/chat', body, decode })
 */
export function decodeEvents<M extends EventSchemas>(schemas: M): EventDecoder<TypedEvent<M>> {
  return (message, { validate, requestId }) => {
    if (!Object.hasOwn(schemas, message.event)) return undefined;
    const schema = schemas[message.event] as z.ZodType;
    const label = `Event "${message.event}"${message.id === undefined ? '' : ` (id ${message.id})`}`;
    let json: unknown;
    try {
      json = JSON.parse(message.data);
    } catch (cause) {
      throw new FleeceError(`${label} does not carry JSON data (request id ${requestId})`, {
        cause,
        requestId,
      });
    }
    if (!validate) return { event: message.event, id: message.id, data: json } as TypedEvent<M>;
    const result = schema.safeParse(json);
    if (!result.success) throw new ResponseValidationError(label, result.error.issues, 200, { requestId });
    return { event: message.event, id: message.id, data: result.data } as TypedEvent<M>;
  };
}

/** One open connection of a stream: its response (headers received) and request id. */
export interface StreamConnection {
  response: Response;
  requestId: string;
  /** Aborts this connection's request only (the stream goes on); without it, the body is cancelled. */
  close?: (() => void) | undefined;
}

/** Everything a {@link Stream} needs. Built by `client.stream()`. */
export interface StreamInit<E> {
  /** The first connection. */
  connection: StreamConnection;
  /**
   * Opens a new connection that resumes after `lastEventId` (sent as `Last-Event-ID`), or from the start
   * when `undefined`. Throws the SDK error of a failed attempt.
   */
  reconnect: (lastEventId: string | undefined) => Promise<StreamConnection>;
  decode: EventDecoder<E>;
  /** Aborting it ends the stream and closes its connection. */
  controller: AbortController;
  /** The caller's signal; its abort surfaces as `APIUserAbortError`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds without a byte before the stream fails with `APIConnectionTimeoutError`. */
  idleTimeout: number;
  /** Reconnection attempts allowed in a row without receiving an event. */
  maxRetries: number;
  /**
   * The event type that ends the stream (`done` on every Fleece stream). Until it arrives, an ended
   * connection counts as dropped and is resumed. `null`: the stream ends when the body ends.
   */
  terminalEvent: string | null;
  /**
   * A stream with no end of its own (a live tail): every ended connection, cleanly or not, or silent for
   * `idleTimeout` ms, is resumed with `Last-Event-ID`, and any byte received (a heartbeat comment too) counts as progress for the
   * `maxRetries` budget. Leaving the loop or `abort()` ends it. @default false
   */
  follow?: boolean | undefined;
  validate: boolean;
}

/** One `read()` of a body reader. */
type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

type ReadOutcome = { kind: 'terminal' } | { kind: 'ended' } | { kind: 'dropped'; cause: unknown };

/** Ids remembered to drop events a resumed connection sends again. */
const SEEN_IDS_LIMIT = 10_000;

/**
 * A typed, resumable stream of Server-Sent Events (WHATWG HTML §9.2), consumed with `for await`.
 *
 * - Leaving the loop (`break`, `return`, a thrown error) aborts the request and closes the connection.
 * - The last event is delivered even when the body ends without the blank line that should close it.
 * - When the connection drops (a socket error, or the body ending before the terminal `done` event), the
 *   stream reconnects with `Last-Event-ID` set to the last event's id after the retry backoff (or the
 *   server's `retry:` hint, up to 60 s), and skips events it has already delivered. `maxRetries`
 *   reconnections in a row without a new event end it with `APIConnectionError`.
 * - `idleTimeout` milliseconds without a single byte (heartbeat comments count) end it with
 *   `APIConnectionTimeoutError`; a followed stream (`follow`) reconnects instead, like after a drop.
 * - Aborting (`abort()` or the caller's signal) ends it at once, also while it waits to reconnect.
 *
 * A stream can be iterated once. One that is never iterated keeps its connection open until `abort()`.
 *
 * @example
 * const stream = await client.stream({ method: 'get', path: '/api/v1/audit-events/stream', decode });
 * for await (const event of stream) {
 *   if (event.event === 'done') break;
 * }
 */
export class Stream<E> implements AsyncIterable<E> {
  /** Aborting it ends the stream and closes the connection. */
  readonly controller: AbortController;
  readonly #init: StreamInit<E>;
  readonly #seenIds = new Set<string>();
  #connection: StreamConnection;
  #lastEventId: string | undefined;
  #serverRetryMs: number | undefined;
  #failures = 0;
  #iterated = false;
  /** Aborts when the stream is stopped: `abort()`, leaving the loop, or the caller's signal. */
  readonly #stopped: AbortSignal;

  /** @internal Built by `client.stream()`. */
  constructor(init: StreamInit<E>) {
    this.#init = init;
    this.#connection = init.connection;
    this.controller = init.controller;
    this.#stopped = init.signal
      ? AbortSignal.any([init.signal, init.controller.signal])
      : init.controller.signal;
  }

  /**
   * The `X-Request-Id` of the current connection (it changes when the stream reconnects).
   *
   * @example
   * console.error(`stream failed, request id ${stream.requestId}`);
   */
  get requestId(): string {
    return this.#connection.requestId;
  }

  /**
   * The id of the last event delivered, sent as `Last-Event-ID` on reconnection.
   *
   * @example
   * await saveCheckpoint(stream.lastEventId);
   */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /**
   * Ends the stream and closes its connection; a loop in progress then rejects with `APIUserAbortError`.
   *
   * @example
   * setTimeout(() => stream.abort(), 10_000);
   */
  abort(): void {
    this.controller.abort();
  }

  /**
   * Reads the stream to its end and resolves with its last event (the terminal `done` event on Fleece
   * streams), or `undefined` when it had none. A building block for helpers such as `finalExecution()`.
   *
   * @example
   * const done = await stream.finalEvent();
   */
  async finalEvent(): Promise<E | undefined> {
    let last: E | undefined;
    for await (const event of this) last = event;
    return last;
  }

  /**
   * Iterates over the typed events.
   *
   * @throws {FleeceError} when iterated a second time.
   * @example
   * for await (const event of stream) console.log(event);
   */
  [Symbol.asyncIterator](): AsyncGenerator<E, void, undefined> {
    if (this.#iterated) {
      throw new FleeceError(`A stream can be iterated once (request id ${this.requestId})`, {
        requestId: this.requestId,
      });
    }
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<E, void, undefined> {
    try {
      for (;;) {
        const outcome = yield* this.#read(this.#connection);
        if (outcome.kind === 'terminal') return;
        if (outcome.kind === 'ended' && this.#init.terminalEvent === null && !this.#init.follow) return;
        this.#connection = await this.#reconnect(outcome.kind === 'dropped' ? outcome.cause : undefined);
      }
    } finally {
      this.controller.abort();
    }
  }

  /** Reconnects after the backoff, retrying failed attempts while the budget lasts. */
  async #reconnect(cause: unknown): Promise<StreamConnection> {
    let lastCause = cause;
    for (;;) {
      if (this.#failures >= this.#init.maxRetries) {
        const terminal = this.#init.terminalEvent;
        const what = this.#init.follow
          ? 'The followed stream dropped'
          : `The stream ended before its ${terminal === null ? 'end' : `"${terminal}" event`}`;
        throw new APIConnectionError({
          message:
            `${what} and ` +
            `${this.#failures} reconnection attempt(s) without progress failed; last event id ` +
            `${this.#lastEventId ?? 'none'}`,
          cause: lastCause,
          requestId: this.requestId,
        });
      }
      const delay =
        this.#serverRetryMs === undefined
          ? backoffDelay(this.#failures)
          : Math.min(this.#serverRetryMs, MAX_RETRY_AFTER_MS);
      this.#failures++;
      try {
        // The caller's signal too: an abort while waiting to reconnect (a `retry:` of 20 s, say) ends at once.
        await timers.sleep(delay, this.#stopped);
      } catch (error) {
        throw new APIUserAbortError({ requestId: this.requestId, cause: error });
      }
      try {
        return await this.#init.reconnect(this.#lastEventId);
      } catch (error) {
        const retryable =
          error instanceof APIConnectionError ||
          (error instanceof APIError && shouldRetry(error.status, error.headers));
        if (!retryable) throw error;
        lastCause = error;
      }
    }
  }

  /** Reads one connection to its end, yielding its events. */
  async *#read(connection: StreamConnection): AsyncGenerator<E, ReadOutcome, undefined> {
    const { requestId } = connection;
    const body = connection.response.body;
    if (!body) return { kind: 'ended' };
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const queue: EventSourceMessage[] = [];
    const parser = createParser({
      onEvent: (message) => queue.push(message),
      onRetry: (ms) => {
        this.#serverRetryMs = ms;
      },
    });

    for (;;) {
      let chunk: ReadResult | 'idle';
      try {
        chunk = await this.#readChunk(reader, connection);
      } catch (error) {
        this.#throwIfStopped(requestId, error);
        return { kind: 'dropped', cause: error };
      }
      this.#throwIfStopped(requestId);
      if (chunk === 'idle') {
        const stalled = new APIConnectionTimeoutError({
          message: `The stream stalled: no data for ${this.#init.idleTimeout} ms`,
          requestId,
        });
        // A followed stream whose connection went silent without closing (a proxy or NAT that dropped it)
        // is resumed like a dropped one; any other stream fails.
        if (this.#init.follow) return { kind: 'dropped', cause: stalled };
        this.controller.abort();
        throw stalled;
      }

      if (!chunk.done) {
        // A followed stream makes progress with every byte: its heartbeats show the connection works.
        if (this.#init.follow) this.#failures = 0;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        while (queue.length > 0) {
          const accepted = this.#accept(queue.shift() as EventSourceMessage, requestId);
          if (accepted.event !== undefined) yield accepted.event;
          if (accepted.terminal) return { kind: 'terminal' };
        }
        continue;
      }

      // The body ended. Events closed by a blank line are complete; a last event without one is
      // completed here, as long as its data decodes: a cut-off event is dropped and resumed instead.
      parser.feed(decoder.decode());
      while (queue.length > 0) {
        const accepted = this.#accept(queue.shift() as EventSourceMessage, requestId);
        if (accepted.event !== undefined) yield accepted.event;
        if (accepted.terminal) return { kind: 'terminal' };
      }
      parser.feed('\n\n');
      const trailing = queue.shift();
      if (trailing) {
        let accepted: { event: E | undefined; terminal: boolean };
        try {
          accepted = this.#accept(trailing, requestId);
        } catch (error) {
          return { kind: 'dropped', cause: error };
        }
        if (accepted.event !== undefined) yield accepted.event;
        if (accepted.terminal) return { kind: 'terminal' };
      }
      return { kind: 'ended' };
    }
  }

  /**
   * Reads one chunk; `idle` when no byte arrived for `idleTimeout` ms, after closing this connection
   * (its request aborted, its body cancelled).
   */
  async #readChunk(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    connection: StreamConnection,
  ): Promise<ReadResult | 'idle'> {
    let idle = false;
    const timer = setTimeout(() => {
      idle = true;
      connection.close?.();
      reader.cancel().catch(() => {});
    }, this.#init.idleTimeout);
    try {
      const chunk = await reader.read();
      return idle ? 'idle' : chunk;
    } catch (error) {
      if (idle) return 'idle';
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws `APIUserAbortError` when the stream was stopped on purpose (`abort()` or the caller's signal). */
  #throwIfStopped(requestId: string, cause?: unknown): void {
    if (this.controller.signal.aborted || this.#init.signal?.aborted) {
      throw new APIUserAbortError({ requestId, cause: cause ?? this.#init.signal?.reason });
    }
  }

  /** Decodes one message, drops one already delivered, and records its id. */
  #accept(message: EventSourceMessage, requestId: string): { event: E | undefined; terminal: boolean } {
    const sse: ServerSentEvent = { event: message.event ?? 'message', data: message.data, id: message.id };
    if (sse.id !== undefined && this.#seenIds.has(sse.id)) return { event: undefined, terminal: false };
    const event = this.#init.decode(sse, { validate: this.#init.validate, requestId });
    if (sse.id !== undefined) {
      this.#lastEventId = sse.id;
      this.#seenIds.add(sse.id);
      if (this.#seenIds.size > SEEN_IDS_LIMIT) {
        this.#seenIds.delete(this.#seenIds.values().next().value as string);
      }
    }
    this.#failures = 0;
    return { event, terminal: sse.event === this.#init.terminalEvent };
  }
}
