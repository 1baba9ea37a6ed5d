import { and, asc, eq, gt, inArray, lt } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { conversations, executions } from '../../db/schema/ai.js';
import { users } from '../../db/schema/identity.js';
import { withAdmin, withUser } from '../../db/tenant.js';
import type { EntitlementsService } from '../plans/entitlements.js';

/** Rows deleted per statement (each in its own short transaction) by default. */
export const RETENTION_BATCH = 500;

/** Accounts read per page while walking every account. */
const USERS_PAGE = 200;

/** What one retention run deleted. */
export interface RetentionReport {
  /** Accounts looked at. */
  accounts: number;
  /** Executions deleted (their stored stream events went with them). */
  executions: number;
  /** Conversations deleted (their messages went with them). */
  conversations: number;
}

/** What {@link RetentionService} is built from (its dependencies and settings). */
export interface RetentionServiceOptions {
  db: Db;
  entitlements: EntitlementsService;
}

/**
 * History retention by plan (docs/operations.md "Data retention"): deletes each account's
 * executions (with their events) created before, and conversations (with their messages) last active
 * before, the account's retention cutoff: now minus the plan's `historyRetentionDays` (Free 7, Pro 30,
 * Business 90, Enterprise 365, or an Enterprise override), read at run time, so a downgrade applies its
 * shorter window from the next run. Reads already hide what is older (EntitlementsService.retentionCutoff).
 *
 * Deletes in batches of `batchSize` rows, each in a short transaction of its own in the account's
 * row-level security scope, so a large backlog never holds long locks; a run that stops half-way leaves
 * nothing inconsistent and the next run continues. Audit events are not touched (their retention is
 * their own; see docs/operations.md).
 */
export class RetentionService {
  constructor(private readonly deps: RetentionServiceOptions) {}

  /** Applies the retention of every account once. */
  async run(options: { batchSize?: number } = {}): Promise<RetentionReport> {
    const batchSize = options.batchSize ?? RETENTION_BATCH;
    const report: RetentionReport = { accounts: 0, executions: 0, conversations: 0 };
    let after = '';
    for (;;) {
      const page = await withAdmin(this.deps.db, (tx) =>
        tx
          .select({ id: users.id })
          .from(users)
          .where(gt(users.id, after))
          .orderBy(asc(users.id))
          .limit(USERS_PAGE),
      );
      for (const { id } of page) {
        const deleted = await this.applyTo(id, batchSize);
        report.accounts++;
        report.executions += deleted.executions;
        report.conversations += deleted.conversations;
      }
      if (page.length < USERS_PAGE) return report;
      after = page[page.length - 1]!.id;
    }
  }

  /** Applies the retention of one account. */
  async applyTo(
    userId: string,
    batchSize = RETENTION_BATCH,
  ): Promise<{ executions: number; conversations: number }> {
    const cutoff = await withUser(this.deps.db, userId, async (tx) => {
      try {
        return await this.deps.entitlements.retentionCutoff(tx, userId);
      } catch {
        return undefined; // purged meanwhile
      }
    });
    if (!cutoff) return { executions: 0, conversations: 0 };
    return {
      executions: await deleteHistory(this.deps.db, 'executions', userId, cutoff, batchSize),
      conversations: await deleteHistory(this.deps.db, 'conversations', userId, cutoff, batchSize),
    };
  }
}

/**
 * Deletes `userId`'s executions (created before `before`) or conversations (last active before `before`),
 * every one when `before` is undefined, `batchSize` rows per statement, each statement in a transaction of
 * its own in the user's row-level security scope, until none is left. Stored stream events and chat
 * messages go with their parent (`on delete cascade`). Shared by the retention job and the account purge.
 *
 * @returns how many rows were deleted.
 */
export async function deleteHistory(
  db: Db,
  kind: 'executions' | 'conversations',
  userId: string,
  before: Date | undefined,
  batchSize: number,
): Promise<number> {
  const batch = (tx: Db) => {
    if (kind === 'executions') {
      const ids = tx
        .select({ id: executions.id })
        .from(executions)
        .where(and(eq(executions.userId, userId), before ? lt(executions.createdAt, before) : undefined))
        .limit(batchSize);
      return tx.delete(executions).where(inArray(executions.id, ids)).returning({ id: executions.id });
    }
    const ids = tx
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.userId, userId), before ? lt(conversations.updatedAt, before) : undefined))
      .limit(batchSize);
    return tx.delete(conversations).where(inArray(conversations.id, ids)).returning({ id: conversations.id });
  };
  let total = 0;
  for (;;) {
    const deleted = await withUser(db, userId, batch);
    total += deleted.length;
    if (deleted.length < batchSize) return total;
  }
}
