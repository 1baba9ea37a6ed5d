import { sql } from 'drizzle-orm';
import { boolean, check, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './identity.js';

/**
 * Consents (issue 7): a user's latest decision per consent type (`ai_processing`, `product_email`,
 * `terms`). `policyVersion` is the version of the policy text the decision was made against
 * (`CONSENT_POLICY_VERSIONS` in src/modules/consents/service.ts); a grant counts only for the current
 * version. No row means never decided, which counts as not granted. Every change is audited
 * (`consent.granted` / `consent.revoked`), so the history lives in the audit log.
 */
export const consents = pgTable(
  'consents',
  {
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text({ enum: ['ai_processing', 'product_email', 'terms'] }).notNull(),
    granted: boolean().notNull(),
    policyVersion: text().notNull(),
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.type] }),
    check('consents_type_check', sql`${t.type} in ('ai_processing', 'product_email', 'terms')`),
  ],
);
