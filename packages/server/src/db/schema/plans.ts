import { sql } from 'drizzle-orm';
import { check, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './identity.js';

/**
 * Plans and usage (docs/security.md, "Plans and entitlements"). The plan itself is `users.plan`; its limits come from the typed plan
 * table in src/limits.ts, except where an Enterprise account has overrides here.
 */

/**
 * Per-account overrides of an Enterprise plan's limits, set by an admin (`admin.plan_overridden`). `limits`
 * is a partial entitlements object (`{ "apiPerDay": 2000000 }`); it applies only while the plan is
 * `enterprise`.
 */
export const accountLimits = pgTable('account_limits', {
  userId: text()
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  limits: jsonb().$type<Record<string, number | boolean | null>>().notNull(),
  updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
});

/**
 * Metered usage per account and period, counted atomically (`UPDATE … SET count = count + 1 WHERE count <
 * limit`). `metric` is what is counted (`executions`); `period` is the calendar month in UTC (`2026-01`).
 */
export const usageCounters = pgTable(
  'usage_counters',
  {
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    metric: text().notNull(),
    period: text().notNull(),
    count: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.metric, t.period] }),
    check('usage_counters_count_check', sql`${t.count} >= 0`),
  ],
);
