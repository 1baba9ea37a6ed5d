import { afterEach, vi } from 'vitest';
// The SDK's one waiting primitive (retry backoff, device polling, reconnect delays). Watching it tells
// when a client is waiting on the clock rather than on I/O, so fake time moves only then and timings
// stay exact. It is internal to the SDK, hence the source path.
import { timers } from '../../sdk/src/internal/timers.js';

/**
 * Fakes the clocks the SDK and the CLI wait on (timeouts, intervals, `Date`, `performance`), starting at
 * `start` (ms since the epoch) when given; real I/O keeps running (setImmediate and nextTick stay real).
 */
export function useFakeClock(start?: number): void {
  vi.useFakeTimers({
    ...(start === undefined ? {} : { now: start }),
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
}

/** What {@link observeSleeps} records. */
export interface Sleeps {
  /** Every wait asked of `timers.sleep`, in milliseconds, in order. */
  delays: number[];
  /** How many waits are in progress. */
  readonly pending: number;
}

/** Records every wait the SDK makes (`timers.sleep`), in milliseconds, and how many are in progress. */
export function observeSleeps(): Sleeps {
  const delays: number[] = [];
  let pending = 0;
  const sleep = timers.sleep;
  vi.spyOn(timers, 'sleep').mockImplementation(async (ms, signal) => {
    delays.push(ms);
    pending++;
    try {
      await sleep(ms, signal);
    } finally {
      pending--;
    }
  });
  return {
    delays,
    get pending() {
      return pending;
    },
  };
}

/**
 * Waits in real time (polling on `setImmediate`, which the fake clock leaves alone) until `condition`
 * holds. Unlike `vi.waitFor`, it never moves fake time, so timings stay exact.
 * @throws Error when `condition` still fails after `timeoutMs` (real milliseconds).
 */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n;
  while (!condition()) {
    if (process.hrtime.bigint() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Drives fake time until `promise` settles: whenever the SDK is waiting (a `timers.sleep` is in
 * progress, as `sleeps` counts), fires the next timer; meanwhile real I/O runs. Call
 * {@link useFakeClock} first. Returns `promise`.
 */
export async function driveClock<T>(
  promise: Promise<T>,
  sleeps: { readonly pending: number } = observeSleeps(),
): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await until(() => settled || sleeps.pending > 0, 20_000);
    if (!settled) await vi.advanceTimersToNextTimerAsync();
  }
  return promise;
}

/** The wall clock the CLI suite's fake clock starts at: 2026-03-01 12:00 UTC, in ms since the epoch. */
export const FIXED_NOW = Date.parse('2026-03-01T12:00:00.000Z');

/**
 * Registers an `afterEach` that puts the real clock back (after {@link useFakeClock}) and restores every
 * spy (such as {@link observeSleeps}'s), so no test inherits another's fake time.
 */
export function restoreClockAfterEach(): void {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}
