/**
 * The one place the SDK waits. Waits use the global `setTimeout` (so fake timers control them) and
 * elapsed time uses the monotonic `performance.now()` (so wall-clock changes do not shift deadlines).
 *
 * Methods are looked up on this object at call time, which lets tests observe every wait.
 */
export const timers = {
  /**
   * Resolves after `ms` milliseconds. Rejects with `signal.reason` if the signal aborts first (or already
   * has), and clears its timer either way.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },

  /** Milliseconds on a monotonic clock, for deadlines that must ignore wall-clock drift. */
  now(): number {
    return performance.now();
  },
};
