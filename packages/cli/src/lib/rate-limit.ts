import type { RateLimitError, RateLimitEvent } from '@fleece/sdk';
import { messages } from '../messages.js';
import type { Context } from './context.js';
import { CliError, ValidationError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { parseDuration } from './format.js';
import type { Output } from './output.js';
import { sleep } from './sleep.js';

/** The `--max-wait` default without a terminal (CI, pipes): 10 s. */
export const DEFAULT_MAX_WAIT_MS = 10_000;

/** The wait default on a terminal, where a countdown shows and Ctrl+C stops it: 5 min. */
export const TERMINAL_MAX_WAIT_MS = 5 * 60_000;

/** The largest `--max-wait` accepted: one day (the longest window of a limit). */
export const MAX_MAX_WAIT_MS = 86_400_000;

/**
 * Parses `--max-wait`: `0` (never wait), or a duration such as `10s`, `2m`, `1h` or `90` (seconds), at
 * most a day. Returns milliseconds, or `undefined` when the flag was not given.
 *
 * @throws {ValidationError} (exit 2) for anything else, saying what it takes.
 */
export function parseMaxWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*0+(\.0*)?\s*(ms|s|m|min|h)?\s*$/i.test(value)) return 0;
  const ms = parseDuration(value, MAX_MAX_WAIT_MS);
  if (ms === undefined) {
    throw new ValidationError(messages.badMaxWait(value), { hint: messages.badMaxWaitHint });
  }
  return ms;
}

/**
 * The window of the limit that a route has, in ms (docs/api.md, "Rate limits"): the named
 * limits of agent runs, flow triggers and chat count per minute, data export per hour, every other route
 * per minute. A reset further away than the route's window means the plan's daily API limit was hit.
 */
export function routeWindowMs(method: string, path: string): number {
  if (method === 'GET' && /^\/api\/v1\/export\/?$/.test(path)) return 3_600_000;
  return 60_000;
}

/** `10/min`, `5/h`, `5000/day`; `limit 10` when the window is unknown; `undefined` without a limit. */
export function limitLabel(
  limit: string | null,
  windowMs: number | undefined,
  waitMs: number | undefined,
): string | undefined {
  const max = limit?.trim();
  if (!max || !/^\d+$/.test(max)) return undefined;
  if (windowMs === undefined) return `limit ${max}`;
  const window = waitMs !== undefined && waitMs > windowMs ? 86_400_000 : windowMs;
  const unit = window >= 86_400_000 ? 'day' : window >= 3_600_000 ? 'h' : 'min';
  return `${max}/${unit}`;
}

/** A wait as a person reads it: `42 s`, `4 min 12 s`, `1 h 5 min`. Rounded up to the second. */
export function waitText(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 === 0 ? `${min} min` : `${min} min ${s % 60} s`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}

/** A wait as a `--max-wait` value that covers it: `45s`, `3m`, `2h`. */
export function waitFlag(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min}m`;
  return `${Math.ceil(min / 60)}h`;
}

/**
 * The wait a 429 asks for, in ms: `retry-after-ms` or `Retry-After` (as the SDK read them:
 * `defaultDelayMs`, else `retryAfter` when beyond the SDK's cap), else `X-RateLimit-Reset` (seconds),
 * else `fallbackMs` (the SDK's backoff). `undefined` when nothing says and there is no fallback.
 */
export function requestedWaitMs(error: RateLimitError, fallbackMs?: number | null): number | undefined {
  const hinted = error.headers.has('retry-after-ms') || error.headers.has('retry-after');
  if (hinted && error.retryAfter !== undefined) {
    return fallbackMs ?? error.retryAfter * 1000;
  }
  const reset = error.headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) return Number(reset) * 1000;
  return fallbackMs ?? undefined;
}

/**
 * The exit-5 error of a rate limit that fleece does not wait for: which limit, on which server, when it
 * resets (an ISO 8601 UTC time and how long from now), and what to do.
 *
 * @param info.windowMs - the route's window ({@link routeWindowMs}), when the route is known.
 * @param info.waitMs - the wait the server asked for, when known.
 * @param info.now - the wall clock, ms since the epoch.
 * @param info.suggestWait - whether to suggest `--max-wait` (the wait was longer than the one allowed).
 */
export function rateLimitFailure(
  error: RateLimitError,
  info: {
    server: string;
    windowMs?: number | undefined;
    waitMs?: number | undefined;
    now: number;
    suggestWait: boolean;
  },
): CliError {
  const { server, waitMs, now } = info;
  const label = limitLabel(error.headers.get('x-ratelimit-limit'), info.windowMs, waitMs);
  const reset = waitMs === undefined ? undefined : new Date(Math.ceil((now + waitMs) / 1000) * 1000);
  const message = messages.rateLimitedAt(
    server,
    label,
    reset ? reset.toISOString().replace('.000Z', 'Z') : undefined,
    waitMs === undefined ? undefined : waitText(waitMs),
  );
  const hint =
    waitMs === undefined
      ? messages.rateLimitedHint(undefined)
      : info.suggestWait
        ? messages.rateLimitedWaitHint(waitFlag(waitMs))
        : messages.rateLimitedRetryHint;
  return new CliError(message, {
    exitCode: ExitCode.RATE_LIMITED,
    hint,
    requestId: error.requestId,
    cause: error,
  });
}

/** What {@link rateLimitHandler} needs from the invocation. */
export interface RateLimitHost {
  ctx: Pick<Context, 'now'>;
  out: Output;
  /** `--max-wait` in ms, when given. */
  maxWaitMs: number | undefined;
}

/**
 * The SDK's `onRateLimit` for one command on `server`: fleece, not the SDK, decides what a 429 costs.
 *
 * - On a terminal (stderr is one, outside CI, without `--quiet`), a wait of at most `--max-wait` (default
 *   {@link TERMINAL_MAX_WAIT_MS}) shows `rate limited (10/min) — retrying in 42 s`, counting down each
 *   second (in the running spinner's place when there is one), then retries; Ctrl+C stops it (exit 130).
 * - Without a terminal, a wait of at most `--max-wait` (default {@link DEFAULT_MAX_WAIT_MS}) is announced
 *   once on stderr, then waited for.
 * - A longer wait is not waited for: the command fails at once with exit 5, saying when the limit resets
 *   ({@link rateLimitFailure}).
 *
 * The limit comes from the 429's `X-RateLimit-Limit`, its window from the route ({@link routeWindowMs}).
 */
export function rateLimitHandler(
  host: RateLimitHost,
  server: string,
): (event: RateLimitEvent) => Promise<boolean> {
  return async (event) => {
    const { out } = host;
    const windowMs = routeWindowMs(event.method, event.path);
    const waitMs = requestedWaitMs(event.error, event.defaultDelayMs) ?? 1000;
    const live = out.live;
    const maxWaitMs = host.maxWaitMs ?? (live ? TERMINAL_MAX_WAIT_MS : DEFAULT_MAX_WAIT_MS);
    if (waitMs > maxWaitMs) {
      throw rateLimitFailure(event.error, {
        server,
        windowMs,
        waitMs,
        now: host.ctx.now(),
        suggestWait: true,
      });
    }
    const label = limitLabel(event.error.headers.get('x-ratelimit-limit'), windowMs, waitMs);
    const text = (ms: number) => messages.rateLimitedRetrying(label, waitText(ms));
    if (!live) {
      out.info(text(waitMs));
      await sleep(waitMs, event.signal);
      return true;
    }
    const running = out.activeSpinner;
    const before = running?.text();
    const spinner = running ?? (await out.spinner(text(waitMs)));
    try {
      for (let left = waitMs; left > 0; ) {
        spinner.update(text(left));
        const step = left % 1000 || 1000;
        await sleep(step, event.signal);
        left -= step;
      }
    } finally {
      if (running) running.update(before ?? '');
      else spinner.stop();
    }
    return true;
  };
}
