import type { z } from 'zod';
import { isFleeceProblem, Problem, ProblemCode } from '../contract/problem.js';
import { parseRetryAfter, parseRetryAfterMs } from './retries.js';

/**
 * The reason phrase of `status` (`Not Found`), or `HTTP Error`. Read from the `node:http` module object only
 * when an error is made: an ESM import of `node:http` evaluates its lazy `WebSocket` export, which loads
 * Node's bundled undici into every process that imports the SDK.
 */
function statusText(status: number): string {
  const { STATUS_CODES } = process.getBuiltinModule('node:http') as typeof import('node:http');
  return STATUS_CODES[status] ?? 'HTTP Error';
}

/** Options shared by every SDK error. */
export interface FleeceErrorOptions {
  /** The underlying error (a socket error, a zod error…), kept as the standard `cause`. */
  cause?: unknown;
  /** The `X-Request-Id` of the request that failed, when there was one. */
  requestId?: string | undefined;
}

/**
 * The base class of every error the SDK throws, so `err instanceof FleeceError` tells SDK errors from
 * bugs in your own code.
 *
 * Errors raised for a request carry its `requestId` (`X-Request-Id`, `req_…`) and name it in the message;
 * quote it to support. Configuration errors (thrown by `new Fleece()`) have no request id.
 */
export class FleeceError extends Error {
  override name = 'FleeceError';
  /** The `X-Request-Id` of the failed request; `undefined` for errors raised before any request. */
  readonly requestId: string | undefined;

  constructor(message: string, options: FleeceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.requestId = options.requestId;
  }
}

/** Appends ` (request id …)` so every request error names its request. */
function withRequestId(message: string, requestId: string | undefined, extra?: string): string {
  const parts = [extra, `request id ${requestId ?? 'unknown'}`].filter(Boolean);
  return `${message} (${parts.join(', ')})`;
}

/** An OAuth 2.0 error body (RFC 6749 §5.2), as the token endpoints answer. */
function oauthError(body: unknown): { error: string; description: string | undefined } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, error_description } = body as Record<string, unknown>;
  if (typeof error !== 'string') return undefined;
  return { error, description: typeof error_description === 'string' ? error_description : undefined };
}

/**
 * The server answered with an HTTP error status (4xx or 5xx).
 *
 * - `status`: the HTTP status code;
 * - `headers`: the response headers;
 * - `problem`: the RFC 9457 problem document when the body is one (`application/problem+json`), else
 *   `undefined`;
 * - `body`: the parsed JSON body, or its text when it is not JSON, or `undefined` when empty;
 * - `code`: the stable snake_case problem `code` (for example `rate_limited`), or the OAuth `error`
 *   (RFC 6749 §5.2, for example `authorization_pending`) from the auth endpoints;
 * - `problemCode`: the problem `code` typed as the contract's `ProblemCode` (a `switch` over it is checked
 *   by the compiler), or `undefined` for an OAuth error or a code this SDK version does not know;
 * - `requestId`: the response's `X-Request-Id`, else the problem's `requestId`, else the id the SDK sent.
 *
 * A subclass names each common status; other statuses are plain `APIError`s.
 */
export class APIError extends FleeceError {
  override name = 'APIError';
  /** The HTTP status code. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The RFC 9457 problem document, when the body is one. */
  readonly problem: Problem | undefined;
  /** The parsed JSON body, or the body text when it is not JSON; `undefined` when the body is empty. */
  readonly body: unknown;
  /** The problem `code` or OAuth `error` to branch on; `undefined` when the body carries neither. */
  readonly code: string | undefined;
  /** The problem `code` when it is one of the contract's {@link ProblemCode}s, else `undefined`. */
  readonly problemCode: ProblemCode | undefined;

  constructor(status: number, body: unknown, headers: Headers, options: FleeceErrorOptions = {}) {
    const parsed = Problem.safeParse(body);
    const problem = parsed.success ? parsed.data : undefined;
    const oauth = problem ? undefined : oauthError(body);
    const requestId = headers.get('x-request-id') ?? problem?.requestId ?? options.requestId;
    const code = problem?.code ?? oauth?.error;
    const title = problem?.title ?? statusText(status);
    const detail = problem?.detail ?? oauth?.description;
    const fieldErrors = problem?.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    const message = [`${status} ${title}`, detail, fieldErrors].filter(Boolean).join(': ');
    super(withRequestId(message, requestId, code ? `code ${code}` : undefined), { ...options, requestId });
    this.status = status;
    this.headers = headers;
    this.problem = problem;
    this.body = body;
    this.code = code;
    const known = ProblemCode.safeParse(problem?.code);
    this.problemCode = known.success ? known.data : undefined;
  }

  /**
   * Builds the error for a response: the subclass for its status when there is one.
   *
   * @param status - HTTP status code.
   * @param body - The parsed JSON body, the body text, or `undefined`.
   * @param headers - The response headers.
   * @param requestId - The id the SDK sent, used when the response names none.
   * @param baseURL - The client's base URL: with it, a 404 that no Fleece server would send (see
   *   {@link NotFleeceServerError}) becomes that error.
   * @example
   * const error = APIError.generate(404, problemBody, response.headers); // a NotFoundError
   */
  static generate(
    status: number,
    body: unknown,
    headers: Headers,
    requestId?: string,
    baseURL?: string,
  ): APIError {
    const options = { requestId };
    if (status === 404 && baseURL !== undefined) {
      const reason = NotFleeceServerError.reasonFor(body, baseURL);
      if (reason) return new NotFleeceServerError(body, headers, { ...options, baseURL, reason });
    }
    switch (status) {
      case 400:
        return new BadRequestError(status, body, headers, options);
      case 401:
        return new AuthenticationError(status, body, headers, options);
      case 403:
        return new PermissionDeniedError(status, body, headers, options);
      case 404:
        return new NotFoundError(status, body, headers, options);
      case 409:
        return new ConflictError(status, body, headers, options);
      case 422:
        return new UnprocessableEntityError(status, body, headers, options);
      case 429:
        return new RateLimitError(status, body, headers, options);
      default:
        return status >= 500
          ? new InternalServerError(status, body, headers, options)
          : new APIError(status, body, headers, options);
    }
  }
}

/** HTTP 400: the request was malformed or failed validation; `problem.errors` lists the fields. */
export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}

/** HTTP 401: no credential, or an invalid, expired or revoked API key or access token. */
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}

/**
 * HTTP 403: the credential may not do this. `upgrade` is `true` when a plan limit was hit and a higher
 * plan lifts it (problem code `plan_limit_reached`).
 */
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
  /** `true` when a higher plan lifts the limit that was hit. */
  readonly upgrade: boolean;

  constructor(status: number, body: unknown, headers: Headers, options: FleeceErrorOptions = {}) {
    super(status, body, headers, options);
    this.upgrade = this.problem?.upgrade === true;
  }
}

/** HTTP 404: no such resource, or it belongs to someone else (the two are indistinguishable by design). */
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}

/** Why a 404 shows that the client is not talking to a Fleece server (see {@link NotFleeceServerError}). */
export type NotFleeceServerReason = 'not_a_fleece_answer' | 'api_path';

/**
 * HTTP 404 from something that is not a Fleece server's API:
 *
 * - `reason: 'not_a_fleece_answer'`: the body is not a Fleece problem document (another web app on the
 *   port: an HTML 404 page, `{"error": "Not Found"}`, or another service's problem+json);
 * - `reason: 'api_path'`: the base URL ends in `/api` (or `/api/v1`), so every path became `/api/api/…`;
 *   the base URL is the server's origin (`https://fleece.example.com`), without the API path.
 *
 * `baseURL` is the address the client was given. It is a `NotFoundError`, so code that catches those
 * still does; check the base URL (`FLEECE_BASE_URL`) rather than the id.
 */
export class NotFleeceServerError extends NotFoundError {
  override name = 'NotFleeceServerError';
  /** The client's base URL, which is not a Fleece server's API. */
  readonly baseURL: string;
  /** Which sign showed it. */
  readonly reason: NotFleeceServerReason;

  constructor(
    body: unknown,
    headers: Headers,
    options: FleeceErrorOptions & { baseURL: string; reason: NotFleeceServerReason },
  ) {
    super(404, body, headers, options);
    this.baseURL = options.baseURL;
    this.reason = options.reason;
    const why =
      options.reason === 'api_path'
        ? "the address ends in the API path; use the server's origin without /api"
        : 'it answered 404 without a Fleece problem document; another web app may be on that port';
    this.message = withRequestId(`${options.baseURL} is not a Fleece server: ${why}`, this.requestId);
  }

  /**
   * Whether `baseURL` ends in the API path (`/api`, `/api/v1`, any case, trailing slashes): a server's origin was
   * meant. `false` for anything that is not a URL.
   */
  static isApiPath(baseURL: string): boolean {
    try {
      return /\/api(\/v\d+)?\/*$/i.test(new URL(baseURL).pathname);
    } catch {
      return false;
    }
  }

  /** The reason a 404 with `body` from `baseURL` shows a wrong server, or `undefined` for a Fleece 404. */
  static reasonFor(body: unknown, baseURL: string): NotFleeceServerReason | undefined {
    if (NotFleeceServerError.isApiPath(baseURL)) return 'api_path';
    return isFleeceProblem(body) ? undefined : 'not_a_fleece_answer';
  }
}

/** HTTP 409: the request conflicts with the resource's current state (retried automatically). */
export class ConflictError extends APIError {
  override name = 'ConflictError';
}

/** HTTP 422: the request was well-formed but cannot be processed. */
export class UnprocessableEntityError extends APIError {
  override name = 'UnprocessableEntityError';
}

/**
 * HTTP 429: rate limited. `retryAfter` is the wait the server asked for, in whole seconds rounded up (from
 * `retry-after-ms` when valid, else `Retry-After`, RFC 9110 §10.2.3, either form), or `undefined` when it
 * named none.
 */
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
  /** Seconds to wait before retrying, from `retry-after-ms` or `Retry-After`; `undefined` when absent or unparseable. */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: unknown, headers: Headers, options: FleeceErrorOptions = {}) {
    super(status, body, headers, options);
    const ms =
      parseRetryAfterMs(headers.get('retry-after-ms')) ?? parseRetryAfter(headers.get('retry-after'));
    this.retryAfter = ms === undefined ? undefined : Math.ceil(ms / 1000);
  }
}

/** HTTP 500 or above: the server failed. The body never carries internal detail. */
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}

/**
 * No HTTP response: the connection was refused, reset or dropped, DNS failed, or a proxy refused the
 * tunnel. `cause` holds the underlying error. Retried automatically (see `maxRetries`).
 */
export class APIConnectionError extends FleeceError {
  override name = 'APIConnectionError';

  constructor(options: FleeceErrorOptions & { message?: string } = {}) {
    const reason = describeCause(options.cause);
    super(
      withRequestId(options.message ?? `Connection error${reason ? `: ${reason}` : ''}`, options.requestId),
      options,
    );
  }
}

/**
 * A request got no response within `timeout` milliseconds, or a stream received no bytes for
 * `idleTimeout` milliseconds. Requests that time out are retried; a stalled stream is not.
 */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError';

  constructor(options: FleeceErrorOptions & { message?: string } = {}) {
    super({ ...options, message: options.message ?? 'Request timed out' });
  }
}

/** The request was cancelled through its `AbortSignal` (or by leaving a stream's `for await` loop). */
export class APIUserAbortError extends FleeceError {
  override name = 'APIUserAbortError';

  constructor(options: FleeceErrorOptions & { message?: string } = {}) {
    super(withRequestId(options.message ?? 'Request was aborted', options.requestId), options);
  }
}

/**
 * A response body did not match the schema the SDK expects (only with `validateResponses`, the default).
 * The message names the first offending field path (for example `checks.database.latencyMs`); `issues`
 * lists them all. Usually the server is newer or older than this SDK: upgrade the SDK, or pass
 * `validateResponses: false` to receive unchecked data.
 */
export class ResponseValidationError extends FleeceError {
  override name = 'ResponseValidationError';
  /** Dotted path of the first offending field, such as `data[0].id`; empty for the body itself. */
  readonly path: string;
  /** Every mismatch zod reported. */
  readonly issues: z.core.$ZodIssue[];
  /** The HTTP status of the response that failed validation. */
  readonly status: number;

  constructor(what: string, issues: z.core.$ZodIssue[], status: number, options: FleeceErrorOptions = {}) {
    const first = issues[0];
    const path = first ? formatPath(first.path) : '';
    const details = issues
      .slice(0, 5)
      .map((issue) => `${formatPath(issue.path) || '(body)'}: ${issue.message}`)
      .join('; ');
    super(
      withRequestId(`${what} did not match the expected shape at ${details}`, options.requestId),
      options,
    );
    this.path = path;
    this.issues = issues;
    this.status = status;
  }
}

/**
 * The device code of an RFC 8628 device authorization expired on this machine's monotonic clock before
 * the user approved it (`code` is `expired_token`, as when the server says so). Start again with
 * `deviceAuthorization()`.
 */
export class DeviceCodeExpiredError extends FleeceError {
  override name = 'DeviceCodeExpiredError';
  /** Always `expired_token` (RFC 8628 §3.5), like the server's own answer. */
  readonly code = 'expired_token';

  constructor(expiresIn: number, options: FleeceErrorOptions = {}) {
    super(
      withRequestId(
        `The device code expired ${expiresIn} s after it was issued; call deviceAuthorization() to start again`,
        options.requestId,
      ),
      options,
    );
  }
}

/** Formats a zod issue path as `a.b[0].c`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** A short description of a network error: its code and message, following `cause` a few levels. */
function describeCause(cause: unknown): string | undefined {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    const text = typeof code === 'string' ? `${current.message} [${code}]` : current.message;
    if (text && !parts.includes(text)) parts.push(text);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : undefined;
}

/**
 * A paginated list handed back a cursor it had already handed out in the same iteration (a cycle of any
 * length: `a → a`, or `a → b → c → a`): following it would fetch the same pages forever, so the iteration
 * stops. `cursor` is the repeated cursor; `pages` how many pages the iteration had fetched. A server bug
 * (or a list that changed under a cursor scheme that cannot cope); quote `requestId` to support.
 */
export class PaginationLoopError extends FleeceError {
  override name = 'PaginationLoopError';
  /** The cursor that came back a second time. */
  readonly cursor: string;
  /** Pages fetched in this iteration before the repeated cursor was seen. */
  readonly pages: number;

  constructor(cursor: string, pages: number, options: FleeceErrorOptions = {}) {
    super(
      withRequestId(
        `The list handed back cursor ${JSON.stringify(cursor)} a second time after ${pages} page(s); stopping instead of looping`,
        options.requestId,
      ),
      options,
    );
    this.cursor = cursor;
    this.pages = pages;
  }
}
