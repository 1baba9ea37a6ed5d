import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { apiKeys } from '../../db/schema/api-keys.js';
import { withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';

/** At most one `last_used_at` write per key per this many ms, across every instance. */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/** How long a due use waits for others to join its batch before the write, in ms. */
export const LAST_USED_FLUSH_DELAY_MS = 1_000;
const PENDING_MAX = 100_000;

interface Use {
  userId: string;
  /** The latest use seen, ms since the epoch. */
  at: number;
  ip: string | null;
  /** When this instance last wrote the key (or learned another instance had), ms; 0 for never. */
  writtenAt: number;
  due: boolean;
}

/** What {@link LastUsedTracker} is built from (its dependencies and settings). */
export interface LastUsedTrackerOptions {
  db: Db;
  clock: Clock;
  /** Told when a write of the noted uses fails (they are kept and written again). */
  onError: (error: unknown) => void;
}

/**
 * Records when and from where each API key was last used without a database write per request
 * (claim C10). Every authenticated request calls {@link touch}, which only updates memory. A key becomes
 * due for a write when this instance has not written it for {@link LAST_USED_WRITE_INTERVAL_MS}; due keys
 * are written together after {@link LAST_USED_FLUSH_DELAY_MS}, in one transaction per user (in that user's
 * row-level security scope), each `UPDATE` with a database-side guard:
 *
 * ```sql
 * UPDATE api_keys SET last_used_at = $at, last_used_ip = $ip
 *  WHERE id = $id AND (last_used_at IS NULL OR last_used_at < $at - interval '1 minute')
 * ```
 *
 * so however many instances serve the key, its row is written at most once a minute, and `last_used_at`
 * is never more than a minute (plus the batching delay) behind the key's real last use.
 */
export class LastUsedTracker {
  private readonly uses = new Map<string, Use>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly deps: LastUsedTrackerOptions) {}

  /** Notes a use of key `keyId` (of `userId`) from `ip` now. Memory only; never throws. */
  touch(keyId: string, userId: string, ip: string | null): void {
    const at = this.deps.clock.now().getTime();
    let use = this.uses.get(keyId);
    if (!use) {
      if (this.uses.size >= PENDING_MAX) return;
      use = { userId, at, ip, writtenAt: 0, due: false };
      this.uses.set(keyId, use);
    } else {
      use.at = Math.max(use.at, at);
      use.ip = ip;
    }
    if (!use.due && at - use.writtenAt >= LAST_USED_WRITE_INTERVAL_MS) {
      use.due = true;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, LAST_USED_FLUSH_DELAY_MS);
    this.timer.unref();
  }

  /**
   * Writes every due key now (tests and shutdown call it; otherwise a timer does). Resolves when the
   * writes are done; failures go to `onError` and the keys stay due.
   */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const byUser = new Map<string, { keyId: string; use: Use; at: number; ip: string | null }[]>();
    for (const [keyId, use] of this.uses) {
      if (!use.due) continue;
      use.due = false;
      const batch = byUser.get(use.userId) ?? [];
      batch.push({ keyId, use, at: use.at, ip: use.ip });
      byUser.set(use.userId, batch);
    }
    for (const [userId, batch] of byUser) {
      try {
        await withUser(this.deps.db, userId, async (tx) => {
          for (const { keyId, at, ip } of batch) {
            const when = new Date(at);
            const cut = new Date(at - LAST_USED_WRITE_INTERVAL_MS);
            await tx
              .update(apiKeys)
              .set({ lastUsedAt: when, lastUsedIp: ip })
              .where(
                and(
                  eq(apiKeys.id, keyId),
                  eq(apiKeys.userId, userId),
                  or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, cut)),
                ),
              );
          }
        });
        for (const { use, at } of batch) use.writtenAt = Math.max(use.writtenAt, at);
      } catch (error) {
        for (const { use } of batch) use.due = true;
        this.deps.onError(error);
      }
    }
    // Keys unused for a whole interval are forgotten, so the map only holds keys in use.
    const now = this.deps.clock.now().getTime();
    for (const [keyId, use] of this.uses) {
      if (!use.due && now - use.at >= LAST_USED_WRITE_INTERVAL_MS) this.uses.delete(keyId);
    }
  }

  /** Stops the timer and writes what is due (the app's `onClose`). */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
