import type { ProviderError } from './errors.js';

/**
 * How failed provider calls are retried. An attempt is retried only when it failed with a retryable code
 * (timeout, idle timeout, 429, 5xx) before its first delta: once output has been streamed, a retry would
 * duplicate it, so the failure stands.
 *
 * - `maxAttempts`: upstream calls at most, the first included;
 * - `baseDelayMs` / `maxDelayMs`: exponential backoff with equal jitter, `min(max, base·2^retry)` halved
 *   plus a random half, in ms;
 * - `budgetMs`: no retry starts once this much time (in ms, since the first attempt started, waits
 *   included) would have passed by the end of its wait; a `Retry-After` longer than what is left ends the
 *   retries at once.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  budgetMs: number;
}

/** 3 attempts, backoff from 0.5 s up to 4 s, within 15 s. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 4_000,
  budgetMs: 15_000,
};

/**
 * The backoff before retry number `retry` (0 for the first retry), in ms: the exponential step capped at
 * `maxDelayMs`, half of it fixed and half random (`random` returns [0, 1)).
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(step / 2 + (random() * step) / 2);
}

/**
 * The wait before another attempt, in ms, or `null` when `error` ends the call: it is not retryable, output
 * was already streamed, the attempts are used up, or the wait would overrun the budget.
 *
 * @param attempts upstream calls made so far (1 after the first failure).
 * @param elapsedMs time since the first attempt started, in ms.
 */
export function retryDelay(
  error: ProviderError,
  options: { attempts: number; elapsedMs: number; streamed: boolean },
  policy: RetryPolicy,
  random: () => number = Math.random,
): number | null {
  if (!error.retryable || options.streamed || options.attempts >= policy.maxAttempts) return null;
  const delay = error.retryAfterMs ?? backoffDelay(options.attempts - 1, policy, random);
  return options.elapsedMs + delay > policy.budgetMs ? null : delay;
}

/** Waits `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
