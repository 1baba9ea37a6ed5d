import { z } from 'zod';
import { PlanId, Usage } from './identity.js';

/**
 * Billing (`/api/v1/billing`), through Stripe. Fleece never sees payment card data: Checkout and the customer
 * portal are pages hosted by Stripe, and the API only hands out their URLs.
 *
 * - `GET /api/v1/billing` answers a {@link BillingStatus}: plan, subscription, usage and notices;
 * - `POST /api/v1/billing/checkout` with a {@link CheckoutRequest} answers a {@link BillingUrl}: the Stripe
 *   Checkout page that starts a subscription to that plan;
 * - `POST /api/v1/billing/portal` answers a {@link BillingUrl}: the Stripe customer portal (change plan, update
 *   the payment method, see invoices, cancel).
 *
 * Every billing route answers 503 `billing_not_configured` on a server without Stripe keys (an admin sets
 * plans there instead).
 */

/** A plan that can be bought through Checkout. Enterprise is arranged by contract (an admin sets it). */
export const PaidPlanId = z.enum(['pro', 'business']);
export type PaidPlanId = z.infer<typeof PaidPlanId>;

/** Body of `POST /api/v1/billing/checkout`: the plan to subscribe to. */
export const CheckoutRequest = z.strictObject({ plan: PaidPlanId });
export type CheckoutRequest = z.infer<typeof CheckoutRequest>;

/** A Stripe-hosted page to send the user's browser to (Checkout or the customer portal). */
export const BillingUrl = z.object({ url: z.url() });
export type BillingUrl = z.infer<typeof BillingUrl>;

/**
 * The account's Stripe subscription, as the last applied webhook described it.
 *
 * - `status`: Stripe's subscription status (`active`, `trialing`, `past_due`, `unpaid`, `canceled`,
 *   `incomplete`, `incomplete_expired`, `paused`);
 * - `plan`: the plan the subscription's price buys; `null` for a price this server does not sell;
 * - `currentPeriodEnd`: when the paid period ends (ISO 8601, UTC); the next renewal unless
 *   `cancelAtPeriodEnd`, in which case the plan falls back to Free then.
 */
export const Subscription = z.object({
  id: z.string(),
  status: z.string(),
  plan: PlanId.nullable(),
  currentPeriodEnd: z.iso.datetime().nullable(),
  cancelAtPeriodEnd: z.boolean(),
});
export type Subscription = z.infer<typeof Subscription>;

/**
 * Something the account holder should know about billing. `code` is stable:
 *
 * - `api_keys_disabled`: a plan change left more API keys than the plan allows; the newest were disabled
 *   (`apiKeyIds`). They answer 403 `api_key_disabled` until a higher plan makes room or other keys are
 *   revoked and the plan changes again.
 * - `payment_failed`: the last renewal could not be charged; update the payment method in the portal.
 */
export const BillingNotice = z.object({
  code: z.enum(['api_keys_disabled', 'payment_failed']),
  message: z.string(),
  apiKeyIds: z.array(z.string().startsWith('key_')).optional(),
});
export type BillingNotice = z.infer<typeof BillingNotice>;

/** Answer of `GET /api/v1/billing`. `subscription` is `null` when the account never subscribed. */
export const BillingStatus = z.object({
  plan: z.object({ id: PlanId, name: z.string() }),
  subscription: Subscription.nullable(),
  usage: Usage,
  notices: z.array(BillingNotice),
});
export type BillingStatus = z.infer<typeof BillingStatus>;
