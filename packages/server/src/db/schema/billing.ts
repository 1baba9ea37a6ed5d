import { sql } from 'drizzle-orm';
import { boolean, check, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './identity.js';

/**
 * Stripe billing (src/modules/billing/). Only Stripe's identifiers and the subscription's state are stored:
 * card data never reaches Fleece (claim C4; Checkout and the customer portal are hosted by Stripe).
 *
 * One row per user who started a checkout:
 *
 * - `stripeCustomerId`: the Stripe customer (`cus_…`), created at the first checkout and reused after;
 * - `stripeSubscriptionId`, `subscriptionStatus` (Stripe's status: `active`, `trialing`, `past_due`,
 *   `canceled`, …), `priceId`, `currentPeriodEnd`, `cancelAtPeriodEnd`: the subscription as the last applied
 *   webhook described it; null before the first one;
 * - `lastEventAt`: the `created` time of that event, so a late, older event never overwrites newer state.
 */
export const billingCustomers = pgTable(
  'billing_customers',
  {
    userId: text()
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    stripeCustomerId: text().notNull(),
    stripeSubscriptionId: text(),
    subscriptionStatus: text(),
    priceId: text(),
    currentPeriodEnd: timestamp({ withTimezone: true, mode: 'date' }),
    cancelAtPeriodEnd: boolean().notNull().default(false),
    lastEventAt: timestamp({ withTimezone: true, mode: 'date' }),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    uniqueIndex('billing_customers_stripe_customer_id_key').on(t.stripeCustomerId),
    check('billing_customers_stripe_customer_id_check', sql`${t.stripeCustomerId} ~ '^cus_[A-Za-z0-9]+$'`),
  ],
);

/**
 * Every Stripe webhook event applied, by its id (`evt_…`): inserted in the transaction that applies the
 * event, so each event changes things exactly once however often (or however concurrently) it is delivered.
 */
export const billingWebhookEvents = pgTable('billing_webhook_events', {
  id: text().primaryKey(),
  type: text().notNull(),
  processedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
});
