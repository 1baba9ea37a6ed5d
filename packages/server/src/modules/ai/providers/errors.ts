import type { ProviderId } from './types.js';

/**
 * Safe codes of a failed provider call, stable enough to store on an execution and show to its owner:
 *
 * - `provider_timeout`: no response headers within the attempt timeout (`FLEECE_PROVIDER_TIMEOUT_MS`), or
 *   the provider answered 408;
 * - `provider_idle_timeout`: the streaming response went silent for the idle timeout;
 * - `provider_rate_limited`: the provider answered 429 (our key's quota, not the caller's);
 * - `provider_unavailable`: 5xx or 529, an overloaded or server error event mid-stream, a connection that
 *   failed or closed before the answer was complete;
 * - `provider_error`: anything else the provider refused or broke on (bad key, unknown model, 4xx,
 *   malformed stream);
 * - `provider_cancelled`: the caller's signal aborted, or the consumer stopped reading.
 */
export type ProviderErrorCode =
  | 'provider_timeout'
  | 'provider_idle_timeout'
  | 'provider_rate_limited'
  | 'provider_unavailable'
  | 'provider_error'
  | 'provider_cancelled';

const DESCRIPTIONS: Record<ProviderErrorCode, string> = {
  provider_timeout: 'did not start answering in time',
  provider_idle_timeout: 'stopped sending in the middle of an answer',
  provider_rate_limited: 'is rate limiting requests',
  provider_unavailable: 'is unavailable',
  provider_error: 'refused or failed the request',
  provider_cancelled: 'call was cancelled',
};

/** Codes worth another attempt, when no output has been streamed yet. */
const RETRYABLE: ReadonlySet<ProviderErrorCode> = new Set([
  'provider_timeout',
  'provider_idle_timeout',
  'provider_rate_limited',
  'provider_unavailable',
]);

/**
 * A failed provider call. Its `message` is built from the code, the provider and the HTTP status only:
 * never the provider's error body, the prompt, the output or a key, so it is safe to log and to show.
 * For the same reason it carries no `cause` (pino's error serializer would print the cause's message,
 * which for the SDKs' errors quotes the provider's response body).
 */
export class ProviderError extends Error {
  override name = 'ProviderError';
  /** The upstream HTTP status, when the failure was an HTTP response. */
  readonly status: number | undefined;
  /** How long the provider asked us to wait (`retry-after-ms` / `retry-after`), in ms. */
  readonly retryAfterMs: number | undefined;
  /** Upstream calls made before giving up (set by the stream once the retries are over). */
  readonly attempts: number;

  constructor(
    readonly code: ProviderErrorCode,
    readonly provider: ProviderId,
    options: { status?: number | undefined; retryAfterMs?: number | undefined; attempts?: number } = {},
  ) {
    super(
      `${provider === 'mock' ? 'The mock provider' : `The ${provider} provider`} ${DESCRIPTIONS[code]}` +
        `${options.status === undefined ? '' : ` (HTTP ${options.status})`} [${code}]`,
    );
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.attempts = options.attempts ?? 1;
  }

  /** Whether another attempt may succeed: timeouts, rate limits and unavailability. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  /** This error, recording that `attempts` upstream calls were made. */
  withAttempts(attempts: number): ProviderError {
    return new ProviderError(this.code, this.provider, {
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      attempts,
    });
  }
}

/**
 * Whether `error` is a failed connection as `fetch` reports one (a `TypeError` such as `fetch failed` or
 * `terminated`, for a socket that closed mid-body), rather than a bug.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  if (error.message === 'terminated' || error.message === 'fetch failed') return true;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(E[A-Z]+|UND_ERR_\w+)$/.test(code);
}

/** The code of an HTTP error status from a provider. */
export function codeForStatus(status: number): ProviderErrorCode {
  if (status === 408) return 'provider_timeout';
  if (status === 429) return 'provider_rate_limited';
  if (status >= 500) return 'provider_unavailable';
  return 'provider_error';
}

/**
 * The code of an error event inside a stream (HTTP 200 already sent), from its `error.type`: the
 * overload and server errors both providers document are `provider_unavailable`.
 */
export function codeForStreamErrorType(type: string | null | undefined): ProviderErrorCode {
  switch (type) {
    case 'overloaded_error':
    case 'api_error':
    case 'server_error':
      return 'provider_unavailable';
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
      return 'provider_rate_limited';
    case 'timeout_error':
      return 'provider_timeout';
    default:
      return 'provider_error';
  }
}

/**
 * How long a provider asked us to wait, in ms, from `retry-after-ms` (OpenAI) or `retry-after` (seconds or
 * an HTTP date; RFC 9110 §10.2.3). `undefined` when absent or unreadable.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The error classes an official provider SDK (openai, @anthropic-ai/sdk) throws. Both SDKs are generated
 * from one template, so their classes line up one to one.
 */
export interface SdkErrorClasses {
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIError: abstract new (
    ...args: never[]
  ) => Error & { status?: number; headers?: Headers; type?: string | null };
}

/**
 * Maps what a provider SDK throws to a safe {@link ProviderError}: timeouts, aborts and connection failures
 * by class; HTTP errors by status (with `Retry-After`); an error event inside a 200 stream by its type;
 * anything else as `provider_error`. No upstream message or body is kept.
 */
export function classifySdkError(error: unknown, provider: ProviderId, sdk: SdkErrorClasses): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof sdk.APIConnectionTimeoutError) return new ProviderError('provider_timeout', provider);
  if (error instanceof sdk.APIUserAbortError) return new ProviderError('provider_cancelled', provider);
  if (error instanceof sdk.APIConnectionError) return new ProviderError('provider_unavailable', provider);
  if (error instanceof sdk.APIError) {
    const apiError = error as InstanceType<SdkErrorClasses['APIError']>;
    if (typeof apiError.status === 'number') {
      return new ProviderError(codeForStatus(apiError.status), provider, {
        status: apiError.status,
        retryAfterMs: retryAfterMs(apiError.headers),
      });
    }
    return new ProviderError(codeForStreamErrorType(apiError.type), provider);
  }
  if (isConnectionFailure(error)) return new ProviderError('provider_unavailable', provider);
  return new ProviderError('provider_error', provider);
}
