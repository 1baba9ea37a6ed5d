import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { pageOf } from './contract/pagination.js';
import { APIPromise, type APIResponseProps } from './core/api-promise.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  FleeceError,
  RateLimitError,
  ResponseValidationError,
} from './core/errors.js';
import { CursorPage, PagePromise } from './core/pagination.js';
import type { FinalRequestOptions } from './core/request-options.js';
import { backoffDelay, DEFAULT_MAX_RETRIES, retryDelay, shouldRetry } from './core/retries.js';
import { type EventDecoder, Stream, type StreamConnection } from './core/streaming.js';
import { defaultDispatcher, undiciRequest } from './internal/dispatcher.js';
import { nonBlank, readEnv } from './internal/env.js';
import { type HeadersLike, mergeHeaderRecord } from './internal/headers.js';
import { newIdempotencyKey, newRequestId } from './internal/ids.js';
import { type Logger, type LogLevel, levelLogger, resolveLogLevel } from './internal/logger.js';
import { isStaleSocketError, parseBodyText } from './internal/network.js';
import { timers } from './internal/timers.js';
import { buildURL, normalizeBaseURL } from './internal/url.js';
import { Account } from './resources/account.js';
import { Admin } from './resources/admin.js';
import { Agents } from './resources/agents.js';
import { ApiKeys } from './resources/api-keys.js';
import { Audit } from './resources/audit.js';
import { Auth } from './resources/auth.js';
import { Billing } from './resources/billing.js';
import { Chat, Conversations } from './resources/chat.js';
import { Executions } from './resources/executions.js';
import { Export } from './resources/export.js';
import { Flows } from './resources/flows.js';
import { Health } from './resources/health.js';
import { Me } from './resources/me.js';
import { Models } from './resources/models.js';
import { Sessions } from './resources/sessions.js';
import { VERSION } from './version.js';

/** Where the client connects when neither `baseURL` nor `FLEECE_BASE_URL` says otherwise. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

/** Default per-attempt request timeout: 60 000 ms. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Default stream idle timeout: 60 000 ms without a byte. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * A WHATWG `fetch` implementation (such as `globalThis.fetch`), called with an absolute URL and a
 * standard `RequestInit`. When a dispatcher applies, it rides along as undici's `init.dispatcher`.
 */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Options of `new Fleece()`. Each option wins over its environment variable, which wins over the default;
 * blank environment variables are ignored.
 */
export interface ClientOptions {
  /** An API key (`flc_…`), sent as `Authorization: Bearer`. Env: `FLEECE_API_KEY`. */
  apiKey?: string | undefined;
  /** An OAuth access token (from `fleece login`), sent as `Authorization: Bearer`. Env: `FLEECE_TOKEN`. */
  accessToken?: string | undefined;
  /**
   * `false` makes an unauthenticated client for the public endpoints (health, device authorization,
   * token refresh): no credential is needed or sent, and `FLEECE_API_KEY` / `FLEECE_TOKEN` are ignored.
   * @default true
   */
  auth?: boolean | undefined;
  /** The server's origin, optionally with a path prefix. Env: `FLEECE_BASE_URL`. @default 'http://127.0.0.1:3000' */
  baseURL?: string | undefined;
  /** Per-attempt time limit in milliseconds, until the whole response has arrived. @default 60000 */
  timeout?: number | undefined;
  /** Milliseconds a stream may go without a single byte before it fails. @default 60000 */
  idleTimeout?: number | undefined;
  /** Retries after a failed attempt (connection error, timeout, 408, 409, 429, 5xx). @default 2 */
  maxRetries?: number | undefined;
  /**
   * A `fetch` to send requests with, instead of the default transport (undici's `request()`, loaded on the
   * first request, which does not follow redirects). With a custom `fetch`, `dispatcher` is passed in its
   * `init` only when you set it.
   */
  fetch?: Fetch | undefined;
  /**
   * The undici dispatcher (connection pool, proxy) for requests. Default: a shared keep-alive
   * `EnvHttpProxyAgent` honouring `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
   */
  dispatcher?: Dispatcher | undefined;
  /** Headers sent with every request; per-call `headers` win. A `null` value removes a header. */
  defaultHeaders?: HeadersLike | undefined;
  /**
   * Check every response body against its zod schema, throwing `ResponseValidationError` on a mismatch.
   * @default true
   */
  validateResponses?: boolean | undefined;
  /**
   * How much to log: `off`, `error`, `warn`, `info` (retries) or `debug` (every request: method, path,
   * status, time in ms, request id). Env: `FLEECE_LOG`. Headers, bodies, query strings and credentials
   * are never logged. @default 'warn'
   */
  logLevel?: LogLevel | undefined;
  /** Where to log: any object with `error`, `warn`, `info` and `debug` methods. @default console */
  logger?: Logger | undefined;
  /**
   * Takes over the wait after a 429 (rate limited) that the call could still retry (a retry is left and
   * `x-should-retry` does not forbid it), in place of the SDK's rule (sleep for `Retry-After` when at most
   * 60 s, else throw). The SDK calls it instead of sleeping: resolve `true` once the call should be sent
   * again (the hook waited as long as it chose, for example showing a countdown), or `false` to throw the
   * `RateLimitError` at once. A rejection rejects the call (as `APIUserAbortError` when the call's
   * `signal` aborted). Each retry it grants counts against `maxRetries`. @default the SDK's own rule
   */
  onRateLimit?: ((event: RateLimitEvent) => boolean | Promise<boolean>) | undefined;
}

/** What {@link ClientOptions.onRateLimit} is told about a 429 that the call could retry. */
export interface RateLimitEvent {
  /** The 429 as an error: `retryAfter` (s), `headers` (`X-RateLimit-Limit`, `-Reset`…), `requestId`. */
  error: RateLimitError;
  /** The request method in upper case, such as `POST`. */
  method: string;
  /** The request path without its query string, such as `/api/v1/agents/agt_1/execute`. */
  path: string;
  /** Which retry this would be: 1 for the first. */
  retry: number;
  /** The call's `maxRetries`. */
  maxRetries: number;
  /**
   * The wait the SDK would take on its own, in ms: `retry-after-ms`, else `Retry-After`, else the
   * jittered backoff; `null` when the server asked for more than `MAX_RETRY_AFTER_MS`.
   */
  defaultDelayMs: number | null;
  /** The call's `AbortSignal`: a hook that waits should stop (and reject) when it aborts. */
  signal: AbortSignal | undefined;
}

/** Every key of {@link ClientOptions}, to refuse unknown ones at run time as the types do. */
const CLIENT_OPTIONS: ReadonlySet<string> = new Set<keyof ClientOptions>([
  'apiKey',
  'accessToken',
  'auth',
  'baseURL',
  'timeout',
  'idleTimeout',
  'maxRetries',
  'fetch',
  'dispatcher',
  'defaultHeaders',
  'validateResponses',
  'logLevel',
  'logger',
  'onRateLimit',
]);

/**
 * Refuses keys that are not client options (a typo such as `timeoutMs` or `maxRetry` would otherwise be
 * ignored without a word); TypeScript refuses them in object literals too.
 */
function checkOptionNames(options: object): void {
  const unknown = Object.keys(options).filter((key) => !CLIENT_OPTIONS.has(key));
  if (unknown.length > 0) {
    throw new FleeceError(
      `Unknown client option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}; ` +
        `the options are ${[...CLIENT_OPTIONS].join(', ')}`,
    );
  }
}

/** Options of `client.stream()`: a request plus how to decode and resume its events. */
export interface StreamRequestOptions<E> extends Omit<FinalRequestOptions<never>, 'schema' | 'okStatuses'> {
  /** Turns each Server-Sent Event into a typed event (see `decodeEvents()`). */
  decode: EventDecoder<E>;
  /** The event type that ends the stream; `null` for none. @default 'done' */
  terminalEvent?: string | null | undefined;
  /**
   * Follow a live stream that has no end of its own (the audit tail): a connection that ends, even
   * cleanly, is resumed with `Last-Event-ID`, and heartbeats count as progress for the retry budget.
   * @default false
   */
  follow?: boolean | undefined;
  /**
   * The request that resumes the stream after a drop (sent with `Last-Event-ID`). Default: the same
   * request again, with the same `Idempotency-Key`.
   */
  resume?:
    | ((lastEventId: string | undefined) => Pick<FinalRequestOptions, 'method' | 'path' | 'query' | 'body'>)
    | undefined;
}

type Credential = { type: 'apiKey' | 'accessToken'; value: string };

function checkDuration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new FleeceError(`\`${name}\` must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

function checkRetries(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new FleeceError(`\`maxRetries\` must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** Methods that get an automatic `Idempotency-Key`: the ones that are not idempotent by definition. */
const NEEDS_IDEMPOTENCY_KEY = new Set(['post', 'patch']);

/**
 * The Fleece API client.
 *
 * Credentials: `apiKey` (an API key, `flc_…`) or `accessToken` (from `fleece login`), else the
 * `FLEECE_API_KEY` or `FLEECE_TOKEN` environment variable (the API key wins when both are set). Without
 * any, the constructor throws a `FleeceError`, unless `auth: false` asks for an unauthenticated client
 * (public endpoints only: health, the device flow, token refresh).
 *
 * Requests go through undici with keep-alive, honour `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, time out
 * after `timeout` ms, and are retried `maxRetries` times with exponential backoff (see the README).
 *
 * @throws {FleeceError} when no credential is found, both `apiKey` and `accessToken` are passed, or an
 *   option is invalid.
 * @example
 * import { Fleece } from '@fleece/sdk';
 * const client = new Fleece({ apiKey: process.env.FLEECE_API_KEY });
 * const health = await client.health.check();
 */
export class Fleece {
  /** The server's base URL, without a trailing slash. */
  readonly baseURL: string;
  /** Per-attempt timeout in milliseconds. */
  readonly timeout: number;
  /** Stream idle timeout in milliseconds. */
  readonly idleTimeout: number;
  /** Retries after a failed attempt. */
  readonly maxRetries: number;
  /** Whether response bodies are checked against their schemas. */
  readonly validateResponses: boolean;

  /** `GET /api/health`: service health for monitors. */
  readonly health: Health;
  /** The OAuth endpoints: device authorization (RFC 8628), token refresh, PKCE code exchange, revocation. */
  readonly auth: Auth;
  /** `/api/v1/agents`: create, list, get, update, delete and execute agents. */
  readonly agents: Agents;
  /** `/api/v1/api-keys`: create (shown once), list and revoke API keys. */
  readonly apiKeys: ApiKeys;
  /** `/api/v1/admin/*`: accounts (list, search, plan, limits, suspension), for admins. */
  readonly admin: Admin;
  /** `POST /api/v1/chat`: start or continue a conversation. */
  readonly chat: Chat;
  /** `/api/v1/conversations`: list, get and delete conversations. */
  readonly conversations: Conversations;
  /** `/api/v1/executions`: list, get, stream (`events`) and cancel executions. */
  readonly executions: Executions;
  /** `/api/v1/flows`: create, list, get, update and delete flows; trigger runs and list them. */
  readonly flows: Flows;
  /** `GET /api/v1/me`: the caller's account, plan, entitlements and usage. */
  readonly me: Me;
  /** `GET /api/v1/models`: the models the server offers, and which of them the caller's plan allows. */
  readonly models: Models;
  /** `/api/v1/audit-events`: your audit log: list, live `stream` (resumable) and hash-chain `verify`. */
  readonly audit: Audit;
  /** `/api/v1/sessions`: your browser and CLI sessions: list, revoke one, revoke all others. */
  readonly sessions: Sessions;
  /** `/api/v1/billing`: plan and subscription, Stripe Checkout and customer portal URLs. */
  readonly billing: Billing;
  /** `/api/v1/account/*`: your account's consents (`consents`) and its deletion (`deletion`). */
  readonly account: Account;
  /** `GET /api/v1/export`: download everything your account owns (NDJSON or zip), verified. */
  readonly export: Export;

  readonly #credential: Credential | undefined;
  readonly #fetch: Fetch;
  readonly #customFetch: Fetch | undefined;
  readonly #dispatcherOption: Dispatcher | undefined;
  /** The dispatcher to pass, or `default` for the shared one, made on the first request. */
  readonly #dispatcher: Dispatcher | 'default' | undefined;
  /** The shared dispatcher, once made. */
  #sharedDispatcher: Dispatcher | undefined;
  readonly #defaultHeaders: HeadersLike | undefined;
  readonly #logLevelOption: LogLevel | undefined;
  readonly #loggerOption: Logger | undefined;
  readonly #onRateLimit: ClientOptions['onRateLimit'];
  /** The logger, filtered to {@link logLevel}. */
  readonly #log: Logger;
  /** What the client logs (`logLevel`, else `FLEECE_LOG`, else `warn`). */
  readonly logLevel: LogLevel;

  constructor(options: ClientOptions = {}) {
    checkOptionNames(options);
    const logger = options.logger ?? console;
    this.logLevel = resolveLogLevel(options.logLevel, logger);
    this.#log = levelLogger(this.logLevel, logger);
    this.#logLevelOption = options.logLevel;
    this.#loggerOption = options.logger;
    this.#onRateLimit = options.onRateLimit;
    this.#credential = Fleece.#resolveCredential(options);

    const baseURL = nonBlank(options.baseURL) ?? readEnv('FLEECE_BASE_URL') ?? DEFAULT_BASE_URL;
    const normalized = normalizeBaseURL(baseURL);
    if (!normalized) {
      throw new FleeceError(
        `\`baseURL\` must be an http: or https: URL without credentials, query or fragment, got ${JSON.stringify(baseURL)}`,
      );
    }
    this.baseURL = normalized;
    this.timeout = checkDuration('timeout', options.timeout, DEFAULT_TIMEOUT_MS);
    this.idleTimeout = checkDuration('idleTimeout', options.idleTimeout, DEFAULT_IDLE_TIMEOUT_MS);
    this.maxRetries = checkRetries(options.maxRetries, DEFAULT_MAX_RETRIES);
    this.validateResponses = options.validateResponses ?? true;
    this.#defaultHeaders = options.defaultHeaders;
    this.#customFetch = options.fetch;
    this.#fetch = options.fetch ?? undiciRequest;
    this.#dispatcherOption = options.dispatcher;
    this.#dispatcher = options.dispatcher ?? (options.fetch ? undefined : 'default');

    this.health = new Health(this);
    this.auth = new Auth(this);
    this.agents = new Agents(this);
    this.apiKeys = new ApiKeys(this);
    this.admin = new Admin(this);
    this.executions = new Executions(this);
    this.flows = new Flows(this);
    this.chat = new Chat(this);
    this.conversations = new Conversations(this);
    this.me = new Me(this);
    this.models = new Models(this);
    this.audit = new Audit(this);
    this.sessions = new Sessions(this);
    this.billing = new Billing(this);
    this.account = new Account(this);
    this.export = new Export(this);
  }

  static #resolveCredential(options: ClientOptions): Credential | undefined {
    if (options.auth === false) return undefined;
    const apiKey = nonBlank(options.apiKey);
    const accessToken = nonBlank(options.accessToken);
    if (apiKey && accessToken) {
      throw new FleeceError('Pass either `apiKey` or `accessToken`, not both');
    }
    if (apiKey) return { type: 'apiKey', value: apiKey };
    if (accessToken) return { type: 'accessToken', value: accessToken };
    const envKey = readEnv('FLEECE_API_KEY');
    if (envKey) return { type: 'apiKey', value: envKey };
    const envToken = readEnv('FLEECE_TOKEN');
    if (envToken) return { type: 'accessToken', value: envToken };
    throw new FleeceError(
      'No credentials: pass `apiKey` (an API key, flc_…) or `accessToken`, or set FLEECE_API_KEY or ' +
        'FLEECE_TOKEN. For the public endpoints only (health, device authorization), pass `auth: false`.',
    );
  }

  /**
   * Which credential the client sends: `apiKey`, `accessToken`, or `null` for an unauthenticated client.
   *
   * @example
   * if (client.credentialType === null) console.log('not signed in');
   */
  get credentialType(): 'apiKey' | 'accessToken' | null {
    return this.#credential?.type ?? null;
  }

  /**
   * A new client with these options changed and everything else (credential, base URL, timeouts,
   * connection pool) kept. Passing `apiKey`, `accessToken` or `auth` replaces the credential.
   *
   * @throws {FleeceError} like the constructor.
   * @example
   * const patient = client.withOptions({ timeout: 120_000, maxRetries: 5 });
   * const asUser = client.withOptions({ accessToken: tokens.access_token });
   */
  withOptions(options: ClientOptions): Fleece {
    const replacesCredential =
      options.apiKey !== undefined || options.accessToken !== undefined || options.auth !== undefined;
    const credential: ClientOptions = replacesCredential
      ? {}
      : this.#credential === undefined
        ? { auth: false }
        : { [this.#credential.type]: this.#credential.value };
    return new Fleece({
      baseURL: this.baseURL,
      timeout: this.timeout,
      idleTimeout: this.idleTimeout,
      maxRetries: this.maxRetries,
      validateResponses: this.validateResponses,
      fetch: this.#customFetch,
      dispatcher: this.#dispatcherOption,
      defaultHeaders: this.#defaultHeaders,
      logLevel: this.#logLevelOption,
      logger: this.#loggerOption,
      onRateLimit: this.#onRateLimit,
      ...credential,
      ...options,
    });
  }

  /**
   * Sends `GET path`. For endpoints this SDK does not wrap yet; pass a `schema` for a typed, checked body.
   *
   * @example
   * const me = await client.get('/api/v1/me', { schema: Me });
   */
  get<T = unknown>(
    path: string,
    options: Omit<FinalRequestOptions<T>, 'method' | 'path'> = {},
  ): APIPromise<T> {
    return this.request({ ...options, method: 'get', path });
  }

  /**
   * Sends `POST path` with a JSON `body` and an automatic `Idempotency-Key`.
   *
   * @example
   * const agent = await client.post('/api/v1/agents', { body: { name: 'triage' }, schema: Agent });
   */
  post<T = unknown>(
    path: string,
    options: Omit<FinalRequestOptions<T>, 'method' | 'path'> = {},
  ): APIPromise<T> {
    return this.request({ ...options, method: 'post', path });
  }

  /**
   * Sends `PUT path` with a JSON `body`.
   *
   * @example
   * await client.put('/api/v1/account/consents/marketing', { body: { granted: true } });
   */
  put<T = unknown>(
    path: string,
    options: Omit<FinalRequestOptions<T>, 'method' | 'path'> = {},
  ): APIPromise<T> {
    return this.request({ ...options, method: 'put', path });
  }

  /**
   * Sends `PATCH path` with a JSON `body` and an automatic `Idempotency-Key`.
   *
   * @example
   * await client.patch('/api/v1/agents/agt_123', { body: { name: 'renamed' } });
   */
  patch<T = unknown>(
    path: string,
    options: Omit<FinalRequestOptions<T>, 'method' | 'path'> = {},
  ): APIPromise<T> {
    return this.request({ ...options, method: 'patch', path });
  }

  /**
   * Sends `DELETE path`.
   *
   * @example
   * await client.delete('/api/v1/api-keys/key_123');
   */
  delete<T = unknown>(
    path: string,
    options: Omit<FinalRequestOptions<T>, 'method' | 'path'> = {},
  ): APIPromise<T> {
    return this.request({ ...options, method: 'delete', path });
  }

  /**
   * Sends one call, with retries, and parses its JSON body (checked against `options.schema`).
   *
   * @throws {APIError} (a subclass per status) for an HTTP error after the retries;
   *   {@link APIConnectionError} / {@link APIConnectionTimeoutError} when no response came;
   *   {@link APIUserAbortError} when `signal` aborted; {@link ResponseValidationError} on a body mismatch.
   * @example
   * const health = await client.request({ method: 'get', path: '/api/health', schema: HealthResponse });
   */
  request<T = unknown>(options: FinalRequestOptions<T>): APIPromise<T> {
    const prepared = this.#prepare(options);
    return new APIPromise(this.#makeRequest(prepared, 'application/json'), (props) =>
      this.#parseJSON(props, prepared.schema),
    );
  }

  /**
   * Fetches a cursor-paginated list (`?limit=&cursor=` → `{ data, nextCursor }`), checking each item
   * against `item`. The result is awaitable (first page) and async iterable (every item of every page).
   *
   * @example
   * for await (const key of client.getAPIList('/api/v1/api-keys', ApiKey, { query: { limit: 50 } })) {
   *   console.log(key.id);
   * }
   */
  getAPIList<Item>(
    path: string,
    item: z.ZodType<Item>,
    options: Omit<FinalRequestOptions, 'method' | 'path' | 'schema'> = {},
  ): PagePromise<Item> {
    const schema = pageOf(item) as unknown as z.ZodType<{ data: Item[]; nextCursor: string | null }>;
    const prepared = this.#prepare({ ...options, method: 'get', path, schema });
    const cursor = options.query?.cursor;
    return new PagePromise<Item>(this.#makeRequest(prepared, 'application/json'), async (props) => {
      const body = await this.#parseJSON(props, schema);
      return new CursorPage<Item>(body, {
        cursor: typeof cursor === 'string' ? cursor : undefined,
        requestId: props.requestId,
        fetchPage: (next) =>
          this.getAPIList(path, item, { ...options, query: { ...options.query, cursor: next } }),
      });
    });
  }

  /**
   * Opens a Server-Sent Events stream (`Accept: text/event-stream`). Awaiting gives the {@link Stream}
   * once the response headers arrive (HTTP errors reject as for `request()`); iterate it with
   * `for await`. It resumes with `Last-Event-ID` after a drop and fails after `idleTimeout` ms of silence.
   *
   * @throws {FleeceError} when the response is not `text/event-stream`; the errors of `request()`.
   * @example
   * const stream = await client.stream({
   *   method: 'get',
   *   path: '/api/v1/audit-events/stream',
   *   decode: decodeEvents({ 'audit.event': AuditEvent, done: z.object({}) }),
   * });
   * for await (const event of stream) console.log(event.event, event.data);
   */
  stream<E>(options: StreamRequestOptions<E>): APIPromise<Stream<E>> {
    const { decode, terminalEvent = 'done', follow = false, resume, ...request } = options;
    const prepared = this.#prepare<never>(request);
    const controller = new AbortController();
    const signal = prepared.signal
      ? AbortSignal.any([prepared.signal, controller.signal])
      : controller.signal;
    const open = async (lastEventId: string | undefined, first: boolean): Promise<StreamConnection> => {
      // Per connection: the stream closes one that went silent, and reconnects, without stopping itself.
      const connection = new AbortController();
      const target =
        !first && resume
          ? { ...prepared, query: undefined, body: undefined, ...resume(lastEventId) }
          : prepared;
      const props = await this.#makeRequest(
        {
          ...target,
          signal: AbortSignal.any([signal, connection.signal]),
          ...(first ? {} : { maxRetries: 0 }),
          headers: mergeHeaderRecord(
            target.headers,
            lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
          ),
        },
        'text/event-stream',
      );
      props.release();
      const type = props.response.headers.get('content-type') ?? '';
      if (!type.toLowerCase().startsWith('text/event-stream')) {
        await props.response.body?.cancel().catch(() => {});
        throw new FleeceError(
          `Expected an event stream from ${target.method.toUpperCase()} ${target.path}, got ${type || 'no content type'} (request id ${props.requestId})`,
          { requestId: props.requestId },
        );
      }
      return {
        response: props.response,
        requestId: props.requestId,
        close: () => connection.abort(new Error('The stream went silent')),
      };
    };
    let firstConnection: StreamConnection | undefined;
    const responsePromise = open(undefined, true).then((connection): APIResponseProps => {
      firstConnection = connection;
      return {
        ...connection,
        options: prepared,
        // The stream owns the body from here; its idle timeout replaces the request timeout.
        release: () => {},
        classify: (error) =>
          error instanceof FleeceError ? error : new APIConnectionError({ cause: error }),
      };
    });
    return new APIPromise(responsePromise, async ({ response, requestId }) => {
      return new Stream<E>({
        connection: firstConnection ?? { response, requestId },
        reconnect: (lastEventId) => open(lastEventId, false),
        decode,
        controller,
        signal: prepared.signal,
        idleTimeout: prepared.idleTimeout ?? this.idleTimeout,
        maxRetries: prepared.maxRetries ?? this.maxRetries,
        terminalEvent,
        follow,
        validate: this.validateResponses,
      });
    });
  }

  /** Fills in the idempotency key once per call, so every retry of the call sends the same one. */
  #prepare<T>(options: FinalRequestOptions<T>): FinalRequestOptions<T> {
    if (!NEEDS_IDEMPOTENCY_KEY.has(options.method)) return options;
    const fromHeader = mergeHeaderRecord(options.headers)['idempotency-key'];
    return {
      ...options,
      idempotencyKey: nonBlank(options.idempotencyKey) ?? fromHeader ?? newIdempotencyKey(),
    };
  }

  #headers(options: FinalRequestOptions<unknown>, accept: string): Record<string, string> {
    return mergeHeaderRecord(
      { accept, 'user-agent': `fleece-sdk-node/${VERSION} node/${process.version}` },
      options.body === undefined ? undefined : { 'content-type': 'application/json' },
      this.#credential && !options.anonymous
        ? { authorization: `Bearer ${this.#credential.value}` }
        : undefined,
      this.#defaultHeaders,
      options.headers,
      options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
    );
  }

  /**
   * Sends the call until it gets a response to hand over, retrying connection errors, timeouts and
   * retryable statuses. Resolves once a successful (or `okStatuses`) response's headers have arrived;
   * its timeout keeps running until `release()`.
   */
  async #makeRequest(options: FinalRequestOptions<unknown>, accept: string): Promise<APIResponseProps> {
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const timeout = options.timeout ?? this.timeout;
    const url = buildURL(this.baseURL, options.path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const baseHeaders = this.#headers(options, accept);
    const fixedRequestId = baseHeaders['x-request-id'];
    const what = `${options.method.toUpperCase()} ${options.path}`;
    let retries = 0;
    let staleSocketRetried = false;

    for (;;) {
      const requestId = fixedRequestId ?? newRequestId();
      if (options.signal?.aborted) {
        throw new APIUserAbortError({ requestId, cause: options.signal.reason });
      }
      const headers = { ...baseHeaders, 'x-request-id': requestId };

      // Errors name the response's request id once there is a response, else the one sent.
      let attemptRequestId = requestId;
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`${what} timed out after ${timeout} ms`));
      }, timeout);
      const signal = options.signal
        ? AbortSignal.any([options.signal, controller.signal])
        : controller.signal;
      const classify = (error: unknown): FleeceError => {
        if (error instanceof FleeceError) return error;
        const ids = { requestId: attemptRequestId, cause: error };
        if (options.signal?.aborted) return new APIUserAbortError(ids);
        if (timedOut)
          return new APIConnectionTimeoutError({ ...ids, message: `${what} timed out after ${timeout} ms` });
        return new APIConnectionError(ids);
      };

      let failure: FleeceError;
      let delay: number | null = null;
      // A 429 whose wait the `onRateLimit` hook decides, instead of the SDK's own rule.
      let handOver: RateLimitError | undefined;
      const started = timers.now();
      const attempt = retries + 1;
      try {
        if (this.#dispatcher === 'default' && !this.#sharedDispatcher) {
          this.#sharedDispatcher = await defaultDispatcher();
        }
        const dispatcher = this.#dispatcher === 'default' ? this.#sharedDispatcher : this.#dispatcher;
        const init = {
          method: options.method.toUpperCase(),
          headers,
          ...(body === undefined ? {} : { body }),
          signal,
          ...(dispatcher ? { dispatcher } : {}),
        };
        // The cast: @types/node types `init.dispatcher` with its bundled undici, not this undici.
        const response = await this.#fetch(url, init as unknown as RequestInit);
        attemptRequestId = response.headers.get('x-request-id') ?? requestId;
        this.#logResponse(options, response.status, started, attemptRequestId, attempt);
        if (response.ok || options.okStatuses?.includes(response.status)) {
          return {
            response,
            options,
            requestId: attemptRequestId,
            release: () => clearTimeout(timer),
            classify,
          };
        }
        const text = await response.text();
        clearTimeout(timer);
        failure = APIError.generate(
          response.status,
          parseBodyText(text),
          response.headers,
          requestId,
          this.baseURL,
        );
        if (options.finalStatuses?.includes(response.status)) throw failure;
        if (!shouldRetry(response.status, response.headers)) throw failure;
        delay = retryDelay(response.headers, retries);
        if (failure instanceof RateLimitError && this.#onRateLimit) handOver = failure;
        else if (delay === null) throw failure;
      } catch (error) {
        clearTimeout(timer);
        if (error instanceof APIError) throw error;
        failure = classify(error);
        this.#logResponse(options, failure.name, started, attemptRequestId, attempt);
        if (failure instanceof APIUserAbortError) throw failure;
        if (!timedOut && !staleSocketRetried && isStaleSocketError(error)) {
          // A keep-alive socket the server closed while idle: the request never reached the application.
          staleSocketRetried = true;
          continue;
        }
        delay = backoffDelay(retries);
      }

      if (retries >= maxRetries) throw failure;
      if (handOver && this.#onRateLimit) {
        let retry: boolean;
        try {
          retry = await this.#onRateLimit({
            error: handOver,
            method: options.method.toUpperCase(),
            path: options.path,
            retry: retries + 1,
            maxRetries,
            defaultDelayMs: delay,
            signal: options.signal,
          });
        } catch (error) {
          if (options.signal?.aborted) throw new APIUserAbortError({ requestId, cause: error });
          throw error;
        }
        if (!retry) throw handOver;
        retries++;
        this.#log.info(`${what} is retried after a rate limit (retry ${retries} of ${maxRetries})`, {
          method: options.method.toUpperCase(),
          path: options.path,
          retry: retries,
        });
        continue;
      }
      if (delay === null) throw failure;
      retries++;
      this.#log.info(
        `${what} will be retried in ${Math.round(delay)} ms (retry ${retries} of ${maxRetries})`,
        {
          method: options.method.toUpperCase(),
          path: options.path,
          retry: retries,
          delayMs: Math.round(delay),
        },
      );
      try {
        await timers.sleep(delay, options.signal);
      } catch (error) {
        throw new APIUserAbortError({ requestId, cause: error });
      }
    }
  }

  /**
   * Logs one attempt at `debug`: method, path (never the query string), status (or the error's name),
   * time in ms and request id. Nothing else: no header, body or credential.
   */
  #logResponse(
    options: FinalRequestOptions<unknown>,
    status: number | string,
    started: number,
    requestId: string,
    attempt: number,
  ): void {
    const durationMs = Math.round(timers.now() - started);
    const method = options.method.toUpperCase();
    this.#log.debug(`${method} ${options.path} → ${status} in ${durationMs} ms (request id ${requestId})`, {
      method,
      path: options.path,
      status,
      durationMs,
      requestId,
      attempt,
    });
  }

  /** Reads a JSON body (within the timeout) and checks it against `schema`. */
  async #parseJSON<T>(props: APIResponseProps, schema: z.ZodType<T> | undefined): Promise<T> {
    const { response, options, requestId } = props;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw props.classify(error);
    } finally {
      props.release();
    }
    const fail = (): APIError =>
      APIError.generate(response.status, parseBodyText(text), response.headers, requestId, this.baseURL);
    let json: unknown;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch (cause) {
        if (!response.ok) throw fail();
        throw new FleeceError(
          `The response to ${options.method.toUpperCase()} ${options.path} is not JSON (request id ${requestId})`,
          { cause, requestId },
        );
      }
    }
    if (!schema || (response.ok && !this.validateResponses)) return json as T;
    const result = schema.safeParse(json);
    if (result.success) return result.data;
    if (!response.ok) throw fail();
    throw new ResponseValidationError(
      `The response to ${options.method.toUpperCase()} ${options.path}`,
      result.error.issues,
      response.status,
      { requestId },
    );
  }
}
