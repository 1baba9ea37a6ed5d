/** Retries after the first attempt, unless `maxRetries` says otherwise. */
export const DEFAULT_MAX_RETRIES = 2;

/** Backoff before the first retry, in milliseconds; it doubles for each later retry. */
export const INITIAL_RETRY_DELAY_MS = 500;

/** Upper bound of the computed backoff, in milliseconds. */
export const MAX_RETRY_DELAY_MS = 8_000;

/**
 * The longest `Retry-After` the SDK waits for, in milliseconds. A longer one is not waited for: the error
 * (for example a `RateLimitError` with its `retryAfter`) is thrown at once so the caller can decide.
 */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Whether a response status is worth retrying: 408 Request Timeout, 409 Conflict (a concurrent change),
 * 429 Too Many Requests, and every 5xx.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). Returns the wait in milliseconds (never negative), or `undefined`
 * when the value is absent or malformed.
 *
 * @param now - The current wall-clock time in ms since the epoch, to compare a date against.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; without this check Date.parse('-1') is a date.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Exponential backoff with jitter: 0.5 s × 2ⁿ for the n-th retry (n from 0), capped at 8 s, multiplied by
 * a random factor in (0.75, 1]. Returns milliseconds.
 *
 * @param random - Source of randomness in [0, 1); `Math.random` by default.
 */
export function backoffDelay(retryIndex: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** retryIndex, MAX_RETRY_DELAY_MS);
  return base * (1 - random() * 0.25);
}

/**
 * Whether a failed response is retried: the server's `x-should-retry` header decides when it says `true`
 * (retry, whatever the status) or `false` (never retry, whatever the status), as openai-node honours it;
 * otherwise {@link isRetryableStatus}. Other header values are ignored.
 *
 * @param status - the HTTP status of a response that is not a success.
 * @param headers - its headers.
 */
export function shouldRetry(status: number, headers: Headers | undefined): boolean {
  const verdict = headers?.get('x-should-retry')?.trim().toLowerCase();
  if (verdict === 'true') return true;
  if (verdict === 'false') return false;
  return isRetryableStatus(status);
}

/**
 * Parses `retry-after-ms` (the wait in milliseconds, a non-negative decimal number, as openai-node reads
 * it). Returns `undefined` when absent or malformed.
 */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  const text = value?.trim();
  if (!text || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The wait before retry number `retryIndex` (from 0) of a response, in milliseconds: its `retry-after-ms`
 * header when valid, else its `Retry-After` (RFC 9110 §10.2.3), when at most {@link MAX_RETRY_AFTER_MS};
 * else, without either, the jittered backoff. Returns `null` when the server asks for a longer wait than
 * the cap, meaning: do not retry.
 */
export function retryDelay(headers: Headers | undefined, retryIndex: number): number | null {
  const retryAfter =
    parseRetryAfterMs(headers?.get('retry-after-ms')) ?? parseRetryAfter(headers?.get('retry-after'));
  if (retryAfter === undefined) return backoffDelay(retryIndex);
  return retryAfter <= MAX_RETRY_AFTER_MS ? retryAfter : null;
}
