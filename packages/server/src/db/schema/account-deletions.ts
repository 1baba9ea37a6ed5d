import { index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './identity.js';

/**
 * A pending account deletion (`del_…`), one per user at most, while `users.status` is `pending_deletion`
 * (migration `0014_account_deletion`; src/modules/deletion/).
 *
 * - `requestedAt`: when the user asked (`POST /api/v1/account/deletion`);
 * - `purgeAfter`: the end of the grace period (`requestedAt` + `FLEECE_DELETION_GRACE_DAYS`); until then the
 *   user may cancel, from then on the purge job may run;
 * - `purgeStartedAt`: set by the purge's first step; from then on the deletion can no longer be cancelled.
 *
 * The purge job is queued with this row's id, never the user id, so the queue keeps nothing personal. The
 * row is deleted with the user (`on delete cascade`) in the purge's last step, or by a cancellation.
 */
export const accountDeletions = pgTable(
  'account_deletions',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    requestedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    purgeAfter: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    purgeStartedAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('account_deletions_user_id_key').on(t.userId),
    index('account_deletions_purge_after_idx').on(t.purgeAfter),
  ],
);
