/**
 * The source of wall-clock time for everything with a deadline (health cache, token expiry, purges).
 * Tests pass a controllable clock instead of faking global timers.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };
