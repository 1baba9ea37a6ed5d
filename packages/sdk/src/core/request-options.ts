import type { z } from 'zod';
import type { HeadersLike } from '../internal/headers.js';
import type { QueryValue } from '../internal/url.js';

/** HTTP methods the SDK sends. */
export type HTTPMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Per-call options every SDK method accepts as its last argument. Each one overrides the client's setting
 * for that call only.
 */
export interface RequestOptions {
  /** Extra headers; they win over the client's `defaultHeaders`. A `null` value removes a header. */
  headers?: HeadersLike | undefined;
  /** Per-attempt time limit in milliseconds, until the whole body has arrived. */
  timeout?: number | undefined;
  /** For streams: milliseconds without a single byte after which the stream fails. */
  idleTimeout?: number | undefined;
  /** Retries after the first attempt (and, for streams, reconnections in a row without progress). */
  maxRetries?: number | undefined;
  /** Cancels the call (and any wait between retries): it then rejects with `APIUserAbortError`. */
  signal?: AbortSignal | undefined;
  /**
   * The `Idempotency-Key` sent with a POST or PATCH and kept across its retries. The SDK generates one
   * per call when neither this nor an `Idempotency-Key` header is given.
   */
  idempotencyKey?: string | undefined;
}

/**
 * Everything the client needs to send one call. Resource methods build these; they are public so new
 * resources (and calls to endpoints this SDK does not wrap yet) can use `client.request()`.
 */
export interface FinalRequestOptions<T = unknown> extends RequestOptions {
  method: HTTPMethod;
  /** Absolute API path, such as `/api/v1/agents`. */
  path: string;
  /** Query parameters; `undefined` and `null` members are omitted. */
  query?: Record<string, QueryValue> | undefined;
  /** A JSON-serialisable request body. */
  body?: unknown;
  /** The zod schema of a successful response body, checked when `validateResponses` is on. */
  schema?: z.ZodType<T> | undefined;
  /** Send no `Authorization` header, for public endpoints (health, the OAuth endpoints). */
  anonymous?: boolean | undefined;
  /**
   * Error statuses whose body is a regular result (for example 503 from health): they are not retried,
   * and their body is returned when it matches `schema` (checked even with `validateResponses: false`).
   */
  okStatuses?: readonly number[] | undefined;
  /**
   * Error statuses that are this operation's final answer rather than a passing failure (for example 409
   * `flow_already_running` from a flow trigger: another run is active, and asking again in a second will
   * not change that): thrown at once, never retried.
   */
  finalStatuses?: readonly number[] | undefined;
}
