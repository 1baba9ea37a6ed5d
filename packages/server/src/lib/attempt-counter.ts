import type { Redis } from 'ioredis';

/** One counted attempt: the count after it, and how long its window still runs. */
export interface AttemptCount {
  /** Attempts in the current window, this one included (1 or more). */
  count: number;
  /** Milliseconds until the window ends and the count starts again at 0. */
  ttlMs: number;
}

/**
 * A fixed-window counter of attempts per key whose every step is atomic, in one process (a `Map`) or across
 * instances (Redis, one Lua script per step). It backs the lock-outs that must hold under concurrency
 * (docs/architecture.md, rate limiting): an attempt is counted *before* it is checked, so two requests can
 * never both see "one attempt left", and an attempt that turns out to be allowed (a correct code) gives its
 * unit back afterwards.
 */
export interface AttemptCounter {
  /**
   * Counts one attempt against `key` and returns the count after it. A key's window of `windowMs`
   * milliseconds starts with its first attempt. Rejects when the store cannot be reached (Redis).
   */
  take(key: string, windowMs: number): Promise<AttemptCount>;
  /**
   * Gives one attempt back to `key`: the count goes down by one, never below 0; a key whose window has
   * ended is left alone (no new window starts). Rejects when the store cannot be reached (Redis).
   */
  giveBack(key: string): Promise<void>;
}

/** Most keys the in-process counter holds; past it, ended windows go first, then the oldest keys. */
const MEMORY_MAX_KEYS = 50_000;

/**
 * The in-process {@link AttemptCounter}: a `Map` from key to count and window end. `now()` is the time in
 * ms since the epoch (the app's Clock). Atomic because JavaScript runs one step at a time in a process.
 */
export function memoryAttemptCounter(now: () => number): AttemptCounter {
  const entries = new Map<string, { count: number; endsAt: number }>();
  const prune = (at: number) => {
    if (entries.size < MEMORY_MAX_KEYS) return;
    for (const [key, entry] of entries) if (entry.endsAt <= at) entries.delete(key);
    for (const key of entries.keys()) {
      if (entries.size < MEMORY_MAX_KEYS) break;
      entries.delete(key);
    }
  };
  return {
    async take(key, windowMs) {
      const at = now();
      let entry = entries.get(key);
      if (!entry || entry.endsAt <= at) {
        prune(at);
        entry = { count: 0, endsAt: at + windowMs };
        entries.set(key, entry);
      }
      entry.count += 1;
      return { count: entry.count, ttlMs: entry.endsAt - at };
    },
    async giveBack(key) {
      const entry = entries.get(key);
      if (entry && entry.endsAt > now() && entry.count > 0) entry.count -= 1;
    },
  };
}

/** INCR, and PEXPIRE on a new key (or one that lost its expiry), in one step; answers count and PTTL. */
const TAKE_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** DECR only a live key with a positive count: never below 0, never a key without an expiry. */
const GIVE_BACK_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`;

/**
 * The Redis {@link AttemptCounter}, shared by every instance that uses the same Redis: each step is one
 * Lua script (`INCR` + `PEXPIRE`; `GET` + `DECR`), which Redis runs atomically. Keys are `prefix + key`.
 */
export function redisAttemptCounter(redis: Redis, prefix: string): AttemptCounter {
  return {
    async take(key, windowMs) {
      const [count, ttl] = (await redis.eval(TAKE_SCRIPT, 1, prefix + key, String(windowMs))) as [
        number,
        number,
      ];
      return { count: Number(count), ttlMs: Number(ttl) };
    },
    async giveBack(key) {
      await redis.eval(GIVE_BACK_SCRIPT, 1, prefix + key);
    },
  };
}
