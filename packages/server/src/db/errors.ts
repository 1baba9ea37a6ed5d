/**
 * Whether `error` is a PostgreSQL unique violation (SQLSTATE `23505`), looking through the `cause` chain:
 * drizzle wraps the driver's error (`pg` and PGlite both set `code`). A transaction that hit one is aborted;
 * callers use it to tell "this was already done" (an idempotency key, a processed event id) from a failure.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
