import { AuditEvent, type AuditEventListQuery, AuditVerifyResponse } from '../contract/audit.js';
import { AuditStreamEventSchemas } from '../contract/streams.js';
import type { APIPromise } from '../core/api-promise.js';
import { FleeceError } from '../core/errors.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { decodeEvents, type Stream, type TypedEvent } from '../core/streaming.js';
import { mergeHeaderRecord } from '../internal/headers.js';

type RawAuditEvent = TypedEvent<typeof AuditStreamEventSchemas>;

/**
 * Filters of {@link Audit.list}: the query of `GET /api/v1/audit-events`, every member optional; `limit`
 * is the page size (1–100, default 20).
 */
export type AuditListParams = Omit<Partial<AuditEventListQuery>, 'limit'> & { limit?: number | undefined };

/** Options of {@link Audit.stream}. */
export interface AuditStreamParams {
  /**
   * `true`: stay connected and deliver each new event as it is recorded, until you leave the loop or call
   * `abort()`. `false`: deliver what was recorded after `lastEventId` up to the newest event at the time of
   * the call, then end (nothing without `lastEventId`). @default true
   */
  follow?: boolean | undefined;
  /**
   * Only events whose action starts with this (`api_key.` matches every API key action, `api_key.created`
   * only that one). Filtered in the client: the stream carries every event, and `lastEventId` moves past
   * the ones skipped.
   */
  action?: string | undefined;
  /**
   * Resume after this event (`evt_…`, sent as `Last-Event-ID`): events recorded after it are replayed
   * first. An id that is not one of yours replays the last 24 hours. Without it, the stream starts with
   * the next event recorded.
   */
  lastEventId?: string | undefined;
}

/** The numeric part of an `evt_<n>` id, for ordering; `undefined` for anything else. */
function sequenceOf(id: string | undefined): bigint | undefined {
  const match = id === undefined ? null : /^evt_([1-9][0-9]{0,15})$/.exec(id);
  return match ? BigInt(match[1] as string) : undefined;
}

/**
 * A live, resumable stream of your audit events ({@link AuditEvent}s, oldest first), consumed with
 * `for await`. A dropped connection (or one the server or a proxy closes) is resumed with `Last-Event-ID`
 * after the retry backoff, without gaps or duplicates; `maxRetries` failed reconnections in a row end it
 * with `APIConnectionError`, and `idleTimeout` ms without a byte (the server sends a heartbeat every 15 s)
 * with `APIConnectionTimeoutError`. Leaving the loop closes the connection. It can be iterated once.
 */
export class AuditEventStream implements AsyncIterable<AuditEvent> {
  readonly #stream: Stream<RawAuditEvent> | undefined;
  readonly #action: string | undefined;
  readonly #upTo: bigint | undefined;
  readonly #requestId: string;
  #iterated = false;

  /** @internal Built by {@link Audit.stream}. */
  constructor(
    stream: Stream<RawAuditEvent> | undefined,
    options: { action: string | undefined; upTo: bigint | undefined; requestId: string },
  ) {
    this.#stream = stream;
    this.#action = options.action;
    this.#upTo = options.upTo;
    this.#requestId = options.requestId;
  }

  /**
   * The `X-Request-Id` of the current connection (it changes when the stream reconnects).
   * @example
   * console.error(`audit stream failed, request id ${stream.requestId}`);
   */
  get requestId(): string {
    return this.#stream?.requestId ?? this.#requestId;
  }

  /**
   * The id of the last event received (including those the `action` filter skipped): pass it as
   * `lastEventId` to a later `stream()` to continue where this one stopped.
   * @example
   * await saveCheckpoint(stream.lastEventId);
   */
  get lastEventId(): string | undefined {
    return this.#stream?.lastEventId;
  }

  /**
   * Ends the stream and closes its connection; a loop in progress then rejects with `APIUserAbortError`.
   * @example
   * setTimeout(() => stream.abort(), 60_000);
   */
  abort(): void {
    this.#stream?.abort();
  }

  /**
   * Iterates over the audit events, oldest first.
   * @throws {FleeceError} when iterated a second time.
   * @example
   * for await (const event of stream) console.log(event.occurredAt, event.action);
   */
  [Symbol.asyncIterator](): AsyncGenerator<AuditEvent, void, undefined> {
    if (this.#iterated) {
      throw new FleeceError(`A stream can be iterated once (request id ${this.requestId})`, {
        requestId: this.requestId,
      });
    }
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<AuditEvent, void, undefined> {
    if (!this.#stream) return;
    const action = this.#action;
    const upTo = this.#upTo;
    for await (const { data } of this.#stream) {
      const sequence = upTo === undefined ? undefined : sequenceOf(data.id);
      if (sequence !== undefined && upTo !== undefined && sequence > upTo) return;
      if (action === undefined || data.action.startsWith(action)) yield data;
      if (sequence !== undefined && upTo !== undefined && sequence >= upTo) return;
    }
  }
}

/**
 * `/api/v1/audit-events`: your own audit log (insert-only, hash-chained; docs/security.md C21–C23).
 * API keys need the `audit:read` scope. Each read is itself recorded (`audit.accessed`, at most once a
 * minute per view).
 */
export class Audit extends APIResource {
  /**
   * Lists your audit events, newest first, filtered by `action` (a prefix), `resourceType`, `resourceId`,
   * `outcome`, `since` (inclusive) and `until` (exclusive; ISO 8601 with a time zone): awaitable (first
   * page) and async iterable (every event).
   *
   * @throws {BadRequestError} (400) for a malformed filter, or `since` after `until`.
   * @throws {PermissionDeniedError} (403) for an API key without the `audit:read` scope.
   * @example
   * for await (const event of client.audit.list({ action: 'api_key.', since: '2026-01-01T00:00:00Z' })) {
   *   console.log(event.occurredAt, event.action, event.resourceId);
   * }
   */
  list(query: AuditListParams = {}, options?: RequestOptions): PagePromise<AuditEvent> {
    return this._client.getAPIList('/api/v1/audit-events', AuditEvent, { ...options, query });
  }

  /**
   * Opens the live stream of your audit events (`GET /api/v1/audit-events/stream`, Server-Sent Events).
   * Resolves with an {@link AuditEventStream} once the server has answered. Without `lastEventId`, or with
   * `follow: false`, it first asks for the newest event (`list({ limit: 1 })`): a tail starts after it,
   * a catch-up ends with it.
   *
   * @throws {PermissionDeniedError} (403) for an API key without the `audit:read` scope; the errors of
   *   every request.
   * @example
   * const stream = await client.audit.stream({ action: 'api_key.' });
   * for await (const event of stream) console.log(event.occurredAt, event.action, event.resourceId);
   * @example
   * // Catch up from a checkpoint, then stop.
   * const missed = await client.audit.stream({ lastEventId: 'evt_41', follow: false });
   * for await (const event of missed) await ship(event);
   */
  async stream(params: AuditStreamParams = {}, options?: RequestOptions): Promise<AuditEventStream> {
    const { follow = true, action, lastEventId } = params;
    let anchor = lastEventId;
    let upTo: bigint | undefined;
    if (!follow || lastEventId === undefined) {
      // The newest event is where a fresh tail starts (so events recorded while it connects, or before
      // its first reconnection, are replayed rather than lost) and where a catch-up ends.
      const newest = await this._client.getAPIList('/api/v1/audit-events', AuditEvent, {
        ...options,
        query: { limit: 1 },
      });
      const newestId = newest.data[0]?.id;
      if (!follow) {
        const last = sequenceOf(lastEventId);
        upTo = sequenceOf(newestId);
        if (lastEventId === undefined || upTo === undefined || (last !== undefined && last >= upTo)) {
          return new AuditEventStream(undefined, { action, upTo, requestId: newest.requestId });
        }
      }
      anchor ??= newestId;
    }
    const stream = await this._client.stream<RawAuditEvent>({
      ...options,
      method: 'get',
      path: '/api/v1/audit-events/stream',
      headers:
        anchor === undefined
          ? options?.headers
          : mergeHeaderRecord(options?.headers, { 'last-event-id': anchor }),
      decode: decodeEvents(AuditStreamEventSchemas),
      terminalEvent: null,
      follow: true,
    });
    return new AuditEventStream(stream, { action, upTo, requestId: stream.requestId });
  }

  /**
   * Verifies the hash chain of your audit log: every event's hash, and every link to the one before.
   * Resolves with `{ valid, checked }`, plus `firstBrokenEventId` and `reason` (`hash_mismatch`: an event
   * was edited; `link_mismatch`: one was deleted or inserted) when it is broken.
   *
   * @throws {PermissionDeniedError} (403) for an API key without the `audit:read` scope.
   * @example
   * const { valid, firstBrokenEventId } = await client.audit.verify();
   * if (!valid) throw new Error(`audit log tampered with at ${firstBrokenEventId}`);
   */
  verify(options?: RequestOptions): APIPromise<AuditVerifyResponse> {
    return this._client.get('/api/v1/audit-events/verify', { ...options, schema: AuditVerifyResponse });
  }
}
