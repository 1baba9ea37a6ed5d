import type {
  BillingNotice,
  BillingStatus,
  BillingUrl,
  PaidPlanId,
  Subscription,
} from '@fleece/sdk/contract';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { BillingConfig } from '../../config.js';
import type { Db } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Invalidations } from '../../db/invalidation.js';
import { billingCustomers, billingWebhookEvents } from '../../db/schema/billing.js';
import { users } from '../../db/schema/identity.js';
import { enterScope, withScope, withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { type PlanId, planOf } from '../../limits.js';
import type { ApiKeyService } from '../api-keys/service.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { MeService } from '../plans/me.service.js';
import { type Stripe, WEBHOOK_TOLERANCE_S } from './stripe.js';

type CustomerRow = typeof billingCustomers.$inferSelect;

/** Stripe subscription statuses in which the subscribed plan is in force (`past_due`: Stripe is retrying). */
const ENTITLED = new Set(['active', 'trialing', 'past_due']);
/** Statuses of a subscription that still bills (or may again): a new checkout would charge twice. */
const BILLING = new Set(['active', 'trialing', 'past_due', 'unpaid', 'paused']);
/**
 * Statuses of a subscription that account deletion must cancel: the billing ones, and `incomplete` (its
 * first payment may still succeed). A new checkout is allowed past an `incomplete` one, which Stripe expires.
 */
const CANCELLABLE = new Set([...BILLING, 'incomplete']);

/** What became of one webhook delivery (the `result` of the 200 answer). */
export type WebhookResult = 'applied' | 'duplicate' | 'ignored';

/** The event types the webhook acts on; Stripe may send others (they are acknowledged and ignored). */
export const HANDLED_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.payment_failed',
] as const;

/** The id of an expandable Stripe reference (`cus_…` or an expanded object). */
function idOf(ref: string | { id: string } | null | undefined): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  return typeof ref === 'string' ? ref : ref.id;
}

/** The end of the paid period of `sub`, from its first item (API versions since 2025-03-31 keep it there). */
function periodEnd(sub: Stripe.Subscription): Date | null {
  const item = sub.items?.data?.[0] as
    | (Stripe.SubscriptionItem & { current_period_end?: number })
    | undefined;
  const legacy = (sub as unknown as { current_period_end?: number }).current_period_end;
  const seconds = item?.current_period_end ?? legacy;
  return typeof seconds === 'number' ? new Date(seconds * 1000) : null;
}

/** What {@link BillingService} is built from (its dependencies and settings). */
export interface BillingServiceOptions {
  db: Db;
  clock: Clock;
  audit: AuditService;
  invalidations: Invalidations;
  apiKeys: ApiKeyService;
  me: MeService;
  log: FastifyBaseLogger;
  config: BillingConfig | undefined;
  stripe: Stripe | undefined;
}

/**
 * Billing through Stripe (claim C4: card data never reaches Fleece).
 *
 * - {@link checkout} and {@link portal} hand out URLs of pages Stripe hosts (Checkout, customer portal);
 *   the Stripe customer is created at the first checkout and stored;
 * - {@link handleWebhook} verifies a `POST /api/webhooks/stripe` delivery (signature over the raw body,
 *   {@link WEBHOOK_TOLERANCE_S} tolerance) and applies it exactly once: the event id is inserted in the
 *   transaction that applies it, so a repeated or concurrent delivery meets the primary key and changes
 *   nothing. Plan changes lock the account row, set `users.plan`, make the API keys fit the new plan (newest
 *   disabled first, see {@link ApiKeyService.enforceLimit}), record `billing.plan_changed` (system actor) and
 *   announce `u:<userId>` so every instance drops its cached view of the account;
 * - {@link cancelSubscription} cancels at once (account deletion), and {@link deleteCustomer} deletes the
 *   Stripe customer (the account purge).
 *
 * Without Stripe configuration (`config` undefined) every entry point but {@link cancelSubscription} throws
 * 503 `billing_not_configured`; admins set plans instead.
 */
export class BillingService {
  constructor(private readonly deps: BillingServiceOptions) {}

  /** Whether Stripe is configured. */
  get enabled(): boolean {
    return this.deps.stripe !== undefined;
  }

  /** @throws {ProblemError} 503 `billing_not_configured` when Stripe is not configured. */
  requireEnabled(): { stripe: Stripe; config: BillingConfig } {
    if (!this.deps.stripe || !this.deps.config) {
      throw new ProblemError(
        'billing_not_configured',
        'Billing is not enabled on this server (no Stripe keys are configured). An administrator sets plans here instead.',
      );
    }
    return { stripe: this.deps.stripe, config: this.deps.config };
  }

  /** The plan a Stripe price buys on this server, or `undefined` for a price it does not sell. */
  planOfPrice(priceId: string | undefined): PaidPlanId | undefined {
    const prices = this.deps.config?.prices;
    if (!prices || !priceId) return undefined;
    if (priceId === prices.pro) return 'pro';
    if (priceId === prices.business) return 'business';
    return undefined;
  }

  private providerError(error: unknown, what: string): ProblemError {
    this.deps.log.error({ err: error }, `Stripe: ${what} failed`);
    return new ProblemError(
      'billing_provider_error',
      `Stripe could not ${what} just now. Nothing was charged; try again in a minute.`,
    );
  }

  private customerOf(tx: Db, userId: string): Promise<CustomerRow | undefined> {
    return tx
      .select()
      .from(billingCustomers)
      .where(eq(billingCustomers.userId, userId))
      .then(([row]) => row);
  }

  /**
   * `GET /api/v1/billing`: the plan, the subscription as Stripe last reported it, usage against the plan's
   * limits (the `/api/v1/me` view) and notices (keys disabled by a downgrade, a failed payment).
   */
  async status(userId: string): Promise<BillingStatus> {
    this.requireEnabled();
    const view = await this.deps.me.get(userId);
    if (!view) throw new ProblemError('not_found', 'This account no longer exists.');
    const { row, disabled } = await withUser(this.deps.db, userId, async (tx) => ({
      row: await this.customerOf(tx, userId),
      disabled: await this.deps.apiKeys.disabledIds(tx, userId),
    }));
    const notices: BillingNotice[] = [];
    if (disabled.length > 0) {
      notices.push({
        code: 'api_keys_disabled',
        message: `${disabled.length} API key${disabled.length === 1 ? ' was' : 's were'} disabled because the ${view.plan.name} plan allows ${view.entitlements.apiKeys}: ${disabled.join(', ')}. They answer 403 api_key_disabled until a higher plan makes room; revoke the ones you no longer need.`,
        apiKeyIds: disabled,
      });
    }
    if (row?.subscriptionStatus === 'past_due' || row?.subscriptionStatus === 'unpaid') {
      notices.push({
        code: 'payment_failed',
        message:
          'The last payment failed. Update the payment method in the billing portal (POST /api/v1/billing/portal) to keep the plan.',
      });
    }
    const subscription: Subscription | null =
      row?.stripeSubscriptionId && row.subscriptionStatus
        ? {
            id: row.stripeSubscriptionId,
            status: row.subscriptionStatus,
            plan: this.planOfPrice(row.priceId ?? undefined) ?? null,
            currentPeriodEnd: row.currentPeriodEnd?.toISOString() ?? null,
            cancelAtPeriodEnd: row.cancelAtPeriodEnd,
          }
        : null;
    return { plan: view.plan, subscription, usage: view.usage, notices };
  }

  /**
   * `POST /api/v1/billing/checkout`: a Stripe Checkout Session (mode `subscription`) for `plan`'s price, for
   * the user's Stripe customer (created and stored the first time, with an idempotency key so concurrent
   * first checkouts make one customer), `client_reference_id` = the user id, metadata `fleece_user_id` and
   * `plan` on the session and the subscription. Records `billing.checkout_started`.
   *
   * @returns the Checkout URL to send the browser to.
   * @throws {ProblemError} 409 `already_subscribed` while a subscription bills (change plans in the
   *   portal); 502 `billing_provider_error` when Stripe fails; 503 `billing_not_configured`.
   */
  async checkout(ctx: AuditContext, userId: string, plan: PaidPlanId): Promise<BillingUrl> {
    const { stripe, config } = this.requireEnabled();
    const { user, row } = await withUser(this.deps.db, userId, async (tx) => {
      const [user] = await tx
        .select({ email: users.email, plan: users.plan })
        .from(users)
        .where(eq(users.id, userId));
      return { user, row: await this.customerOf(tx, userId) };
    });
    if (!user) throw new ProblemError('not_found', 'This account no longer exists.');
    if (row?.stripeSubscriptionId && row.subscriptionStatus && BILLING.has(row.subscriptionStatus)) {
      throw new ProblemError(
        'already_subscribed',
        `You already have a subscription (${row.subscriptionStatus}). Change or cancel it in the billing portal: POST /api/v1/billing/portal.`,
      );
    }
    const customerId = row?.stripeCustomerId ?? (await this.createCustomer(stripe, userId, user.email));
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create({
        mode: 'subscription',
        customer: customerId,
        client_reference_id: userId,
        line_items: [{ price: config.prices[plan], quantity: 1 }],
        success_url: config.successUrl,
        cancel_url: config.cancelUrl,
        metadata: { fleece_user_id: userId, plan },
        subscription_data: { metadata: { fleece_user_id: userId, plan } },
      });
    } catch (error) {
      throw this.providerError(error, 'start a checkout');
    }
    if (!session.url)
      throw this.providerError(new Error('Checkout Session without a url'), 'start a checkout');
    await withUser(this.deps.db, userId, (tx) =>
      this.deps.audit.record(tx, ctx, {
        action: 'billing.checkout_started',
        resourceType: 'checkout_session',
        resourceId: session.id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { plan, from: user.plan },
      }),
    );
    return { url: session.url };
  }

  /** Creates the Stripe customer of `userId` and stores it (or returns the one a concurrent call stored). */
  private async createCustomer(stripe: Stripe, userId: string, email: string): Promise<string> {
    let customer: Stripe.Customer;
    try {
      customer = await stripe.customers.create(
        { email, metadata: { fleece_user_id: userId } },
        { idempotencyKey: `fleece-customer-${userId}` },
      );
    } catch (error) {
      throw this.providerError(error, 'create the customer');
    }
    const now = this.deps.clock.now();
    return withUser(this.deps.db, userId, async (tx) => {
      await tx
        .insert(billingCustomers)
        .values({ userId, stripeCustomerId: customer.id, createdAt: now, updatedAt: now })
        .onConflictDoNothing({ target: billingCustomers.userId });
      const row = await this.customerOf(tx, userId);
      return row!.stripeCustomerId;
    });
  }

  /**
   * `POST /api/v1/billing/portal`: a Stripe customer portal session (change plan, payment method, invoices,
   * cancel), returning to the billing page.
   *
   * @throws {ProblemError} 404 `no_billing_account` before the first checkout; 502
   *   `billing_provider_error`; 503 `billing_not_configured`.
   */
  async portal(userId: string): Promise<BillingUrl> {
    const { stripe, config } = this.requireEnabled();
    const row = await withUser(this.deps.db, userId, (tx) => this.customerOf(tx, userId));
    if (!row) {
      throw new ProblemError(
        'no_billing_account',
        'You have no billing account yet. Subscribe first: POST /api/v1/billing/checkout (or `fleece billing upgrade`).',
      );
    }
    try {
      const session = await stripe.billingPortal.sessions.create({
        customer: row.stripeCustomerId,
        return_url: config.portalReturnUrl,
      });
      return { url: session.url };
    } catch (error) {
      throw this.providerError(error, 'open the billing portal');
    }
  }

  /**
   * Cancels the Stripe subscription of `userId` at once (not at the period's end), for account deletion.
   * A no-op when billing is off, the user never subscribed, or the subscription has already ended; a
   * subscription Stripe no longer knows counts as cancelled. Call it outside any transaction (it calls
   * Stripe). The plan itself changes when Stripe's `customer.subscription.deleted` webhook arrives.
   *
   * @returns whether a subscription was cancelled, and its id.
   * @throws {ProblemError} 502 `billing_provider_error` when Stripe fails (the subscription may still bill:
   *   retry).
   */
  async cancelSubscription(userId: string): Promise<{ cancelled: boolean; subscriptionId?: string }> {
    if (!this.deps.stripe) return { cancelled: false };
    const stripe = this.deps.stripe;
    const row = await withUser(this.deps.db, userId, (tx) => this.customerOf(tx, userId));
    const id = row?.stripeSubscriptionId;
    if (!id || !row.subscriptionStatus || !CANCELLABLE.has(row.subscriptionStatus)) {
      return { cancelled: false };
    }
    let status = 'canceled';
    try {
      status = (await stripe.subscriptions.cancel(id)).status;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'resource_missing') throw this.providerError(error, 'cancel the subscription');
    }
    await withUser(this.deps.db, userId, (tx) =>
      tx
        .update(billingCustomers)
        .set({ subscriptionStatus: status, cancelAtPeriodEnd: false, updatedAt: this.deps.clock.now() })
        .where(eq(billingCustomers.userId, userId)),
    );
    return { cancelled: true, subscriptionId: id };
  }

  /**
   * Deletes the Stripe customer of `userId` (`DELETE /v1/customers/:id`), for the account purge: Stripe then
   * no longer holds the customer's email or the `fleece_user_id` metadata (deleting a customer also ends
   * its subscriptions at once). A no-op when billing is off or the user never had a customer; a customer
   * Stripe no longer knows (404 `resource_missing`: an earlier purge attempt deleted it) counts as deleted,
   * so a purge can run again. Call it outside any transaction (it calls Stripe); the stored customer row
   * goes with the user row.
   *
   * @returns whether a customer was deleted (or found already gone), and its id.
   * @throws {ProblemError} 502 `billing_provider_error` when Stripe fails (retry: the purge does).
   */
  async deleteCustomer(userId: string): Promise<{ deleted: boolean; customerId?: string }> {
    if (!this.deps.stripe) return { deleted: false };
    const row = await withUser(this.deps.db, userId, (tx) => this.customerOf(tx, userId));
    const id = row?.stripeCustomerId;
    if (!id) return { deleted: false };
    try {
      await this.deps.stripe.customers.del(id);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'resource_missing') throw this.providerError(error, 'delete the customer');
    }
    return { deleted: true, customerId: id };
  }

  /**
   * Verifies and applies one Stripe webhook delivery: `rawBody` exactly as received, `signature` the
   * `Stripe-Signature` header. The signature is checked with `stripe.webhooks.constructEvent` over the raw
   * bytes, with {@link WEBHOOK_TOLERANCE_S} seconds of tolerance against this server's clock.
   *
   * - `checkout.session.completed` (subscription mode) and `customer.subscription.created|updated|deleted`
   *   set the plan the subscription's price buys while it is `active`, `trialing` or `past_due`, and Free
   *   once it is cancelled, unpaid or expired; `billing.plan_changed` records a change;
   * - `invoice.payment_failed` records `billing.payment_failed`;
   * - an event older than the last one applied to the customer, an unknown price, or an unknown customer
   *   changes nothing (logged); any other type is acknowledged and ignored.
   *
   * @returns `duplicate` when the event id was applied before (also when a concurrent delivery won).
   * @throws {ProblemError} 400 `invalid_webhook_signature` (nothing changes); 502 `billing_provider_error`
   *   when Stripe cannot be asked for the subscription (Stripe retries the delivery).
   */
  async handleWebhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookResult> {
    const { stripe, config } = this.requireEnabled();
    if (!signature) {
      throw new ProblemError(
        'invalid_webhook_signature',
        'The Stripe-Signature header is missing. Only Stripe may call this endpoint.',
      );
    }
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(
        rawBody,
        signature,
        config.webhookSecret,
        WEBHOOK_TOLERANCE_S,
        undefined,
        this.deps.clock.now().getTime(),
      );
    } catch (error) {
      this.deps.log.warn({ reason: (error as Error).message.split('\n')[0] }, 'Stripe webhook refused');
      throw new ProblemError(
        'invalid_webhook_signature',
        `The Stripe-Signature header does not match this body, or was made more than ${WEBHOOK_TOLERANCE_S} s ago. Check STRIPE_WEBHOOK_SECRET and send the body unchanged.`,
      );
    }
    try {
      return await this.apply(stripe, event);
    } catch (error) {
      if (isUniqueViolation(error)) return 'duplicate';
      throw error;
    }
  }

  private async apply(stripe: Stripe, event: Stripe.Event): Promise<WebhookResult> {
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object;
        const subscriptionId = idOf(session.subscription);
        const customerId = idOf(session.customer);
        const userId = session.client_reference_id ?? session.metadata?.fleece_user_id;
        if (session.mode !== 'subscription' || !subscriptionId || !customerId || !userId) {
          return this.ignore(event, 'not a subscription checkout of a Fleece user');
        }
        let sub: Stripe.Subscription;
        try {
          sub = await stripe.subscriptions.retrieve(subscriptionId);
        } catch (error) {
          throw this.providerError(error, 'read the subscription');
        }
        return this.applySubscription(event, { userId }, customerId, sub, false);
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sub = event.data.object;
        const customerId = idOf(sub.customer);
        if (!customerId) return this.ignore(event, 'no customer');
        return this.applySubscription(
          event,
          { customerId },
          customerId,
          sub,
          event.type === 'customer.subscription.deleted',
        );
      }
      case 'invoice.payment_failed': {
        const invoice = event.data.object;
        const customerId = idOf(invoice.customer);
        if (!customerId) return this.ignore(event, 'no customer');
        return this.inCustomerScope(event, { customerId }, async (tx, userId) => {
          await this.deps.audit.record(tx, this.systemContext(event), {
            action: 'billing.payment_failed',
            resourceType: 'invoice',
            resourceId: invoice.id ?? null,
            outcome: 'failure',
            subjectUserId: userId,
            metadata: {
              eventId: event.id,
              attemptCount: invoice.attempt_count,
              amountDue: invoice.amount_due,
              currency: invoice.currency,
              nextPaymentAttempt: invoice.next_payment_attempt
                ? new Date(invoice.next_payment_attempt * 1000).toISOString()
                : null,
            },
          });
          return { result: 'applied' };
        });
      }
      default:
        return 'ignored';
    }
  }

  private systemContext(event: Stripe.Event): AuditContext {
    return { actor: { type: 'system' }, requestId: event.id };
  }

  private ignore(event: Stripe.Event, reason: string): WebhookResult {
    this.deps.log.warn({ eventId: event.id, type: event.type, reason }, 'Stripe webhook ignored');
    return 'ignored';
  }

  /**
   * Runs `fn` in one transaction that first inserts the event id (a repeated delivery fails here and rolls
   * back), then finds the user (by id, or by the Stripe customer through its row-level security policy) and
   * enters their scope with the account row locked. An unknown user or customer commits only the event id.
   */
  private async inCustomerScope(
    event: Stripe.Event,
    who: { userId: string } | { customerId: string },
    fn: (
      tx: Db,
      userId: string,
      plan: PlanId,
    ) => Promise<{ result: WebhookResult; payloads?: (string | undefined)[] }>,
  ): Promise<WebhookResult> {
    const scope = 'customerId' in who ? { credential: who.customerId } : { userId: who.userId };
    const outcome = await withScope(this.deps.db, scope, async (tx) => {
      await tx
        .insert(billingWebhookEvents)
        .values({ id: event.id, type: event.type, processedAt: this.deps.clock.now() });
      let userId: string | undefined;
      if ('customerId' in who) {
        const [row] = await tx
          .select({ userId: billingCustomers.userId })
          .from(billingCustomers)
          .where(eq(billingCustomers.stripeCustomerId, who.customerId));
        userId = row?.userId;
        if (userId) await enterScope(tx, { userId });
      } else userId = who.userId;
      const [user] = userId
        ? await tx.select({ plan: users.plan }).from(users).where(eq(users.id, userId)).for('update')
        : [];
      if (!userId || !user) return { result: 'ignored' as const, unknown: true };
      return { ...(await fn(tx, userId, user.plan)), unknown: false };
    });
    if (outcome.unknown) this.ignore(event, 'no Fleece account for this customer');
    this.deps.invalidations.afterCommit(...(outcome.payloads ?? []));
    return outcome.result;
  }

  private applySubscription(
    event: Stripe.Event,
    who: { userId: string } | { customerId: string },
    customerId: string,
    sub: Stripe.Subscription,
    deleted: boolean,
  ): Promise<WebhookResult> {
    return this.inCustomerScope(event, who, async (tx, userId, current) => {
      const eventAt = new Date(event.created * 1000);
      const now = this.deps.clock.now();
      const [row] = await tx.select().from(billingCustomers).where(eq(billingCustomers.userId, userId));
      if (row && row.stripeCustomerId !== customerId) {
        this.ignore(event, 'the customer is not the one stored for this user');
        return { result: 'ignored' };
      }
      if (row?.lastEventAt && row.lastEventAt > eventAt) {
        this.ignore(event, 'older than the last event applied');
        return { result: 'ignored' };
      }
      const priceId = sub.items?.data?.[0]?.price?.id;
      const paid = this.planOfPrice(priceId);
      if (!paid) {
        this.deps.log.warn(
          { eventId: event.id, priceId },
          'Stripe webhook: a subscription price this server does not sell (set STRIPE_PRICE_PRO and STRIPE_PRICE_BUSINESS); plan unchanged',
        );
        return { result: 'ignored' };
      }
      // Another, older subscription ending must not take away the plan the current one pays for.
      const otherSubscription = row?.stripeSubscriptionId != null && row.stripeSubscriptionId !== sub.id;
      const entitled = !deleted && ENTITLED.has(sub.status);
      if (otherSubscription && !entitled) {
        this.ignore(event, 'an earlier subscription of this customer ended');
        return { result: 'ignored' };
      }
      const state = {
        stripeSubscriptionId: sub.id,
        subscriptionStatus: deleted ? 'canceled' : sub.status,
        priceId,
        currentPeriodEnd: periodEnd(sub),
        cancelAtPeriodEnd: sub.cancel_at_period_end,
        lastEventAt: eventAt,
        updatedAt: now,
      };
      await tx
        .insert(billingCustomers)
        .values({ userId, stripeCustomerId: customerId, createdAt: now, ...state })
        .onConflictDoUpdate({ target: billingCustomers.userId, set: state });

      // `incomplete`: the first payment is still being attempted; the plan waits for its outcome.
      const target: PlanId | undefined = entitled ? paid : sub.status === 'incomplete' ? undefined : 'free';
      if (target === undefined || target === current) return { result: 'applied' };
      if (current === 'enterprise') {
        this.ignore(event, 'Enterprise accounts are managed by an administrator');
        return { result: 'applied' };
      }
      await tx.update(users).set({ plan: target, updatedAt: now }).where(eq(users.id, userId));
      const keys = await this.deps.apiKeys.enforceLimit(tx, userId, planOf(target).entitlements.apiKeys);
      await this.deps.audit.record(tx, this.systemContext(event), {
        action: 'billing.plan_changed',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'success',
        subjectUserId: userId,
        metadata: {
          from: current,
          to: target,
          eventId: event.id,
          eventType: event.type,
          subscriptionId: sub.id,
          subscriptionStatus: state.subscriptionStatus,
          apiKeysDisabled: keys.disabled,
          apiKeysEnabled: keys.enabled,
        },
      });
      return { result: 'applied', payloads: [await this.deps.invalidations.announce(tx, `u:${userId}`)] };
    });
  }
}
