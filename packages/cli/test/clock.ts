import { vi } from 'vitest';
// The SDK's one waiting primitive (device polling, retry backoff). Watching it tells when the CLI is
// waiting on the clock rather than on I/O, so fake time moves only then and timings stay exact.
import { timers } from '../../sdk/src/internal/timers.js';

/** Fakes the clocks the CLI and the SDK wait on; real I/O (setImmediate, nextTick) keeps running. */
export function useFakeClock(start = Date.parse('2026-03-01T12:00:00.000Z')): void {
  vi.useFakeTimers({
    now: start,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
}

/** Counts the SDK waits in progress. */
export function observeSleeps(): { readonly pending: number } {
  let pending = 0;
  const sleep = timers.sleep;
  vi.spyOn(timers, 'sleep').mockImplementation(async (ms, signal) => {
    pending++;
    try {
      await sleep(ms, signal);
    } finally {
      pending--;
    }
  });
  return {
    get pending() {
      return pending;
    },
  };
}

/** Waits in real time (on `setImmediate`, which is not faked) until `condition` holds. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n;
  while (!condition()) {
    if (process.hrtime.bigint() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Drives fake time until `promise` settles: whenever the SDK is waiting (a sleep is in progress), fires
 * the next timer; meanwhile real I/O runs. Call {@link useFakeClock} first.
 */
export async function driveClock<T>(promise: Promise<T>): Promise<T> {
  const sleeps = observeSleeps();
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
