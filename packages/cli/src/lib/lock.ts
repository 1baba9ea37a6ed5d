import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir } from './fs.js';

/** How long a lock may go without its holder touching it before another process may take it over (ms). */
export const LOCK_STALE_MS = 10_000;

/**
 * Runs `fn` while holding a cross-process lock named after `key` (a directory `<dir>/<name>.lock`,
 * created atomically by `proper-lockfile`, refreshed while held, and taken over when its holder died
 * more than {@link LOCK_STALE_MS} ago). Waits up to about 15 s for another holder.
 */
export async function withLock<T>(dir: string, key: string, fn: () => Promise<T>): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  await ensurePrivateDir(dir);
  const name = `refresh-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  const release = await lockfile.lock(join(dir, name), {
    realpath: false,
    stale: LOCK_STALE_MS,
    retries: { retries: 60, factor: 1.3, minTimeout: 10, maxTimeout: 300 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
