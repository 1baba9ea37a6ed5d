import { and, asc, eq, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../../db/client.js';
import { executions } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';

/**
 * How long the instance running an execution holds it without renewing, in ms: it renews every third of
 * this while the execution runs ({@link Leases.renew}), and {@link Leases.sweepLost} fails an execution
 * whose lease expired (its instance died) as `instance_lost`. A queued agent execution that has not begun
 * this long after it was created is failed the same way.
 */
export const EXECUTION_LEASE_MS = 60_000;

/** An execution a sweep found lost: its id, owner and when it began (`null`: it never did). */
export interface LostExecution {
  id: string;
  userId: string;
  startedAt: Date | null;
}

/** What {@link Leases} needs. */
export interface LeasesOptions {
  database: Database;
  clock: Clock;
  log: FastifyBaseLogger;
  /** The executions this instance runs now: execution id → owner. */
  running: () => Iterable<[id: string, userId: string]>;
  /** Ends a lost execution as `failed` / `instance_lost`; resolves `false` when it had ended already. */
  fail: (lost: LostExecution) => Promise<boolean>;
}

/**
 * Execution leases (claim C32): while an instance runs executions it renews their leases every third of
 * {@link EXECUTION_LEASE_MS} (one `UPDATE` per owner); any instance sweeps executions whose lease expired
 * and fails them as `instance_lost`, leaving alone the ones it runs itself.
 */
export class Leases {
  private renewal: NodeJS.Timeout | undefined;

  constructor(private readonly deps: LeasesOptions) {}

  /** The time a lease taken now runs until. */
  expiry(): Date {
    return new Date(this.deps.clock.now().getTime() + EXECUTION_LEASE_MS);
  }

  /** Starts renewing (every third of the lease) when it is not already; call when a run starts here. */
  hold(): void {
    this.renewal ??= setInterval(() => void this.renew(), EXECUTION_LEASE_MS / 3).unref();
  }

  /** Stops renewing when nothing runs here any more (`idle`), or always on shutdown. */
  release(idle = true): void {
    if (!idle) return;
    clearInterval(this.renewal);
    this.renewal = undefined;
  }

  /**
   * Renews the lease of every execution this instance is running ({@link EXECUTION_LEASE_MS} from now).
   * Resolves to how many leases were renewed; a failure is logged (the next renewal tries again).
   */
  async renew(): Promise<number> {
    const byUser = new Map<string, string[]>();
    for (const [id, userId] of this.deps.running()) byUser.set(userId, [...(byUser.get(userId) ?? []), id]);
    let renewed = 0;
    const leaseExpiresAt = this.expiry();
    for (const [userId, ids] of byUser) {
      try {
        const rows = await withUser(this.deps.database.db, userId, (tx) =>
          tx
            .update(executions)
            .set({ leaseExpiresAt })
            .where(
              and(
                eq(executions.userId, userId),
                inArray(executions.id, ids),
                eq(executions.status, 'running'),
              ),
            )
            .returning({ id: executions.id }),
        );
        renewed += rows.length;
      } catch (error) {
        this.deps.log.warn(
          { err: error },
          'execution leases could not be renewed; retrying at the next renewal',
        );
      }
    }
    return renewed;
  }

  /**
   * Fails every execution whose instance died (claim C32): a running agent execution whose lease expired,
   * or a queued agent execution that never began within {@link EXECUTION_LEASE_MS} of its creation (at most
   * 1000 per call, oldest first). Executions this instance runs are never touched; flow runs are left to
   * their pg-boss job, which resumes them. The candidates are read across tenants under the
   * `app.lease_sweep` scope (which shows only unfinished executions), then each is failed in its owner's
   * scope. Resolves to the ids it failed.
   */
  async sweepLost(): Promise<string[]> {
    const now = this.deps.clock.now();
    const queuedBefore = new Date(now.getTime() - EXECUTION_LEASE_MS);
    const lost = await this.deps.database.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      await tx.execute(sql`select set_config('app.lease_sweep', 'on', true)`);
      return tx
        .select({ id: executions.id, userId: executions.userId, startedAt: executions.startedAt })
        .from(executions)
        .where(
          and(
            isNotNull(executions.model),
            or(
              and(eq(executions.status, 'running'), lt(executions.leaseExpiresAt, now)),
              and(eq(executions.status, 'queued'), lt(executions.createdAt, queuedBefore)),
            ),
          ),
        )
        .orderBy(asc(executions.createdAt))
        .limit(1000);
    });
    const mine = new Set([...this.deps.running()].map(([id]) => id));
    const failed: string[] = [];
    for (const row of lost) {
      if (mine.has(row.id)) continue;
      if (await this.deps.fail(row)) failed.push(row.id);
    }
    if (failed.length > 0)
      this.deps.log.warn({ executionIds: failed }, 'executions of a lost instance failed');
    return failed;
  }
}
