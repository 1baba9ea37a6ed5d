import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { executions } from './ai.js';
import { users } from './identity.js';

/**
 * Webhook delivery attempts (`whd_…`): one row per attempt to POST a flow run's result to its callback URL
 * (src/modules/webhooks/). `eventId` (`whe_…`) is the same on every attempt of one event and is the
 * receiver's `Idempotency-Key`; `attempt` counts from 1. `status` is the HTTP status the receiver answered,
 * `errorCode` a safe code when the attempt failed; `responseExcerpt` holds at most 256 printable characters
 * of the answer's body, never more; `nextAttemptAt` is when the retry is due (`null` after a success or the
 * last attempt). Owned by the user, with row-level security (0012_webhook_deliveries.sql).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    eventId: text().notNull(),
    eventType: text().notNull(),
    executionId: text()
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    flowId: text(),
    url: text().notNull(),
    attempt: integer().notNull(),
    outcome: text({ enum: ['succeeded', 'failed'] }).notNull(),
    status: integer(),
    errorCode: text(),
    responseExcerpt: text(),
    durationMs: integer().notNull(),
    attemptedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    nextAttemptAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('webhook_deliveries_execution_id_idx').on(t.executionId, t.attemptedAt),
    index('webhook_deliveries_event_id_idx').on(t.eventId),
    index('webhook_deliveries_user_id_idx').on(t.userId),
    check('webhook_deliveries_outcome_check', sql`${t.outcome} in ('succeeded', 'failed')`),
    check('webhook_deliveries_excerpt_check', sql`char_length(${t.responseExcerpt}) <= 256`),
  ],
);
