import { BillingStatus } from '@fleece/sdk/contract';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INVALIDATION_CHANNEL } from '../../src/db/invalidation.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

const WHSEC = 'whsec_fleecetestsecret';
const STRIPE_ENV = {
  STRIPE_SECRET_KEY: 'sk_test_fleece',
  STRIPE_WEBHOOK_SECRET: WHSEC,
  STRIPE_PRICE_PRO: 'price_pro',
  STRIPE_PRICE_BUSINESS: 'price_business',
};
const API = 'https://api.stripe.com';

/** A Stripe request as msw saw it: method, path, and the form-encoded body as a flat map. */
interface Seen {
  method: string;
  path: string;
  auth: string | null;
  idempotencyKey: string | null;
  form: Record<string, string>;
}

const server = setupServer();
let seen: Seen[] = [];

function record(): void {
  server.events.on('request:start', async ({ request }) => {
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.clone().text();
    seen.push({
      method: request.method,
      path: url.pathname,
      auth: request.headers.get('authorization'),
      idempotencyKey: request.headers.get('idempotency-key'),
      form: Object.fromEntries(new URLSearchParams(text)),
    });
  });
}

/** A Stripe subscription object with one item at `price`. */
function subscription(
  price: string,
  overrides: Partial<{ id: string; status: string; customer: string; cancel_at_period_end: boolean }> = {},
) {
  return {
    id: overrides.id ?? 'sub_1',
    object: 'subscription',
    customer: overrides.customer ?? 'cus_test1',
    status: overrides.status ?? 'active',
    cancel_at_period_end: overrides.cancel_at_period_end ?? false,
    items: {
      object: 'list',
      data: [
        { id: 'si_1', object: 'subscription_item', price: { id: price }, current_period_end: 1_769_904_000 },
      ],
    },
  };
}

function stripeMocks(sub = subscription('price_pro')) {
  server.use(
    http.post(`${API}/v1/customers`, () => HttpResponse.json({ id: 'cus_test1', object: 'customer' })),
    http.post(`${API}/v1/checkout/sessions`, () =>
      HttpResponse.json({
        id: 'cs_test_1',
        object: 'checkout.session',
        url: 'https://checkout.stripe.com/c/pay/cs_test_1',
      }),
    ),
    http.post(`${API}/v1/billing_portal/sessions`, () =>
      HttpResponse.json({
        id: 'bps_1',
        object: 'billing_portal.session',
        url: 'https://billing.stripe.com/p/session/test_1',
      }),
    ),
    http.get(`${API}/v1/subscriptions/:id`, () => HttpResponse.json(sub)),
    http.delete(`${API}/v1/subscriptions/:id`, ({ params }) =>
      HttpResponse.json({ ...sub, id: params.id, status: 'canceled' }),
    ),
  );
}

beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  record();
});
afterEach(() => {
  server.resetHandlers();
  seen = [];
});
afterAll(() => server.close());

let eventCounter = 0;
/** A Stripe event of `type` about `object`, created at the test clock's now (unless `created` is given). */
function stripeEvent(
  t: TestApp,
  type: string,
  object: unknown,
  id = `evt_${++eventCounter}`,
  created?: number,
) {
  return {
    id,
    object: 'event',
    type,
    api_version: '2025-10-29.clover',
    created: created ?? Math.floor(t.clock.now().getTime() / 1000),
    livemode: false,
    data: { object },
  };
}

/** Delivers `event` to the webhook, signed with the test secret at `timestamp` (default: now). */
function deliver(t: TestApp, event: unknown, options: { timestamp?: number; secret?: string } = {}) {
  const payload = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? WHSEC,
    timestamp: options.timestamp ?? Math.floor(t.clock.now().getTime() / 1000),
  });
  return t.app.inject({
    method: 'POST',
    url: '/api/webhooks/stripe',
    // As Stripe sends it.
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
    payload,
  });
}

async function planOf(t: TestApp, userId: string): Promise<string> {
  const [row] = await t.db.ownerQuery<{ plan: string }>('select plan from users where id = $1', [userId]);
  return row!.plan;
}

/** Gives `user` the Stripe customer `cus_test1` (as the first checkout does). */
async function linkCustomer(t: TestApp, user: TestUser, customer = 'cus_test1'): Promise<void> {
  await t.db.ownerQuery(
    `insert into billing_customers (user_id, stripe_customer_id, created_at, updated_at) values ($1, $2, now(), now())`,
    [user.userId, customer],
  );
}

const billingActions = async (t: TestApp) =>
  (await auditEvents(t)).filter((e) => e.action.startsWith('billing.'));

describe('billing off (no Stripe keys)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  it('answers 503 billing_not_configured on every billing route, and cancelSubscription is a no-op', async () => {
    const user = await userOnPlan(t, 'off@example.test', 'free');
    const responses = await Promise.all([
      t.app.inject({ url: '/api/v1/billing', headers: { cookie: user.cookie } }),
      t.app.inject({
        method: 'POST',
        url: '/api/v1/billing/checkout',
        headers: asSession(t, user),
        payload: { plan: 'pro' },
      }),
      t.app.inject({ method: 'POST', url: '/api/v1/billing/portal', headers: asSession(t, user) }),
      t.app.inject({
        method: 'POST',
        url: '/api/webhooks/stripe',
        headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
        payload: '{}',
      }),
    ]);
    for (const res of responses) {
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'billing_not_configured', status: 503 });
      // Asking again cannot change it: clients are told not to retry (the SDK sent it three times).
      expect(res.headers['x-should-retry']).toBe('false');
    }
    expect(await t.app.billing.cancelSubscription(user.userId)).toEqual({ cancelled: false });
    expect(seen).toEqual([]);
  });
});

describe('billing with Stripe (mocked with msw)', () => {
  let t: TestApp;
  let user: TestUser;
  beforeEach(async () => {
    t = await buildTestApp({ env: STRIPE_ENV });
    user = await userOnPlan(t, 'payer@example.test', 'free');
  });
  afterEach(() => t.close());

  const checkout = (plan: unknown, who = user) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/checkout',
      headers: asSession(t, who),
      payload: { plan } as Record<string, unknown>,
    });
  const status = (who = user) => t.app.inject({ url: '/api/v1/billing', headers: { cookie: who.cookie } });

  it('checkout: creates the customer once, a subscription session at the plan’s price, and returns its URL', async () => {
    stripeMocks();
    const res = await checkout('business');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ url: 'https://checkout.stripe.com/c/pay/cs_test_1' });

    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /v1/customers',
      'POST /v1/checkout/sessions',
    ]);
    expect(seen[0]!.auth).toBe('Bearer sk_test_fleece');
    expect(seen[0]!.idempotencyKey).toBe(`fleece-customer-${user.userId}`);
    expect(seen[0]!.form).toMatchObject({
      email: 'payer@example.test',
      'metadata[fleece_user_id]': user.userId,
    });
    expect(seen[1]!.form).toMatchObject({
      mode: 'subscription',
      customer: 'cus_test1',
      client_reference_id: user.userId,
      'line_items[0][price]': 'price_business',
      'line_items[0][quantity]': '1',
      success_url: `${t.app.config.publicUrl}/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}#billing`,
      cancel_url: `${t.app.config.publicUrl}/settings?checkout=cancelled#billing`,
      'metadata[fleece_user_id]': user.userId,
      'metadata[plan]': 'business',
      'subscription_data[metadata][plan]': 'business',
    });
    const [row] = await t.db.ownerQuery(
      'select stripe_customer_id from billing_customers where user_id = $1',
      [user.userId],
    );
    expect(row).toEqual({ stripe_customer_id: 'cus_test1' });
    expect(await billingActions(t)).toEqual([
      {
        action: 'billing.checkout_started',
        outcome: 'success',
        resource_id: 'cs_test_1',
        metadata: { plan: 'business', from: 'free' },
      },
    ]);

    // A second checkout reuses the stored customer; the plan has not changed (only a webhook changes it).
    seen = [];
    expect((await checkout('pro')).statusCode).toBe(200);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /v1/checkout/sessions']);
    expect(seen[0]!.form['line_items[0][price]']).toBe('price_pro');
    expect(await planOf(t, user.userId)).toBe('free');
  });

  it('checkout: 400 for a plan that cannot be bought, 403 with an API key, 409 while a subscription bills', async () => {
    stripeMocks();
    for (const plan of ['enterprise', 'free', 'gold', undefined]) {
      const res = await checkout(plan);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const payer = await userOnPlan(t, 'keyed@example.test', 'pro');
    const { key } = await createKey(t, payer);
    const viaKey = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/checkout',
      headers: bearer(key),
      payload: { plan: 'pro' },
    });
    expect(viaKey.statusCode).toBe(403);
    expect(seen).toEqual([]);

    await linkCustomer(t, user);
    expect(
      (await deliver(t, stripeEvent(t, 'customer.subscription.updated', subscription('price_pro'))))
        .statusCode,
    ).toBe(200);
    const again = await checkout('business');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'already_subscribed' });
    expect(again.json().detail).toMatch(/billing portal/);
  });

  it('checkout: Stripe failing answers 502 billing_provider_error and records nothing', async () => {
    server.use(
      http.post(`${API}/v1/customers`, () =>
        HttpResponse.json({ error: { type: 'api_error', message: 'boom' } }, { status: 500 }),
      ),
    );
    const res = await checkout('pro');
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'billing_provider_error' });
    expect(res.body).not.toMatch(/boom/);
    expect(await billingActions(t)).toEqual([]);
  });

  it('portal: 404 no_billing_account before any checkout, then the portal URL returning to the settings page', async () => {
    stripeMocks();
    const none = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/portal',
      headers: asSession(t, user),
    });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('no_billing_account');
    await linkCustomer(t, user);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/portal',
      headers: asSession(t, user),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ url: 'https://billing.stripe.com/p/session/test_1' });
    expect(seen.at(-1)).toMatchObject({
      path: '/v1/billing_portal/sessions',
      form: { customer: 'cus_test1', return_url: `${t.app.config.publicUrl}/settings#billing` },
    });
  });

  it('GET /api/v1/billing: plan, no subscription, usage against the limits, no notices', async () => {
    const res = await status();
    expect(res.statusCode).toBe(200);
    const body = BillingStatus.parse(res.json());
    expect(body).toMatchObject({
      plan: { id: 'free', name: 'Free' },
      subscription: null,
      notices: [],
      usage: { apiKeys: { used: 0, limit: 0 }, executions: { used: 0, limit: 50 } },
    });
  });

  it('checkout.session.completed applies the plan: billing.plan_changed by the system, caches dropped', async () => {
    stripeMocks(subscription('price_pro'));
    await linkCustomer(t, user);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).json().plan.id).toBe(
      'free',
    );
    const event = stripeEvent(t, 'checkout.session.completed', {
      id: 'cs_test_1',
      object: 'checkout.session',
      mode: 'subscription',
      customer: 'cus_test1',
      subscription: 'sub_1',
      client_reference_id: user.userId,
      metadata: { fleece_user_id: user.userId, plan: 'pro' },
    });
    const res = await deliver(t, event);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: true, result: 'applied' });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /v1/subscriptions/sub_1']);
    expect(await planOf(t, user.userId)).toBe('pro');
    // The /me view was cached as Free: the change reached it at once.
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).json().plan.id).toBe(
      'pro',
    );
    const [changed] = await billingActions(t);
    expect(changed).toEqual({
      action: 'billing.plan_changed',
      outcome: 'success',
      // The user id is stored as the user's audit subject, never in clear.
      resource_id: expect.not.stringContaining(user.userId),
      metadata: {
        from: 'free',
        to: 'pro',
        eventId: event.id,
        eventType: 'checkout.session.completed',
        subscriptionId: 'sub_1',
        subscriptionStatus: 'active',
        apiKeysDisabled: [],
        apiKeysEnabled: [],
      },
    });
    const [actor] = await t.db.ownerQuery<{ actor_type: string }>(
      "select actor_type from audit_events where action = 'billing.plan_changed'",
    );
    expect(actor!.actor_type).toBe('system');

    const view = BillingStatus.parse((await status()).json());
    expect(view.plan).toEqual({ id: 'pro', name: 'Pro' });
    expect(view.subscription).toEqual({
      id: 'sub_1',
      status: 'active',
      plan: 'pro',
      currentPeriodEnd: new Date(1_769_904_000 * 1000).toISOString(),
      cancelAtPeriodEnd: false,
    });
  });

  it('refuses a bad signature with 400 and changes nothing', async () => {
    await linkCustomer(t, user);
    const event = stripeEvent(t, 'customer.subscription.updated', subscription('price_business'));
    const forged = await deliver(t, event, { secret: 'whsec_someoneelse' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'invalid_webhook_signature', status: 400 });
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks/stripe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(event),
    });
    expect(missing.statusCode).toBe(400);
    // A body changed after signing (one byte) fails too.
    const payload = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: WHSEC,
      timestamp: Math.floor(t.clock.now().getTime() / 1000),
    });
    const tampered = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
      payload: payload.replace('price_business', 'price_businesz'),
    });
    expect(tampered.statusCode).toBe(400);
    expect(await planOf(t, user.userId)).toBe('free');
    expect(await t.db.ownerQuery('select id from billing_webhook_events')).toEqual([]);
    expect(await billingActions(t)).toEqual([]);
  });

  it('refuses a signature older than 300 s (the app clock), accepts one 300 s old', async () => {
    await linkCustomer(t, user);
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const stale = stripeEvent(t, 'customer.subscription.updated', subscription('price_pro'));
    const res = await deliver(t, stale, { timestamp: now - 301 });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/300 s/);
    expect(await planOf(t, user.userId)).toBe('free');
    const fresh = await deliver(t, stale, { timestamp: now - 300 });
    expect(fresh.statusCode).toBe(200);
    expect(await planOf(t, user.userId)).toBe('pro');
  });

  it('a replayed event answers 200 duplicate and changes nothing again', async () => {
    await linkCustomer(t, user);
    const event = stripeEvent(t, 'customer.subscription.updated', subscription('price_pro'));
    expect((await deliver(t, event)).json()).toEqual({ received: true, result: 'applied' });
    // An admin moves the user meanwhile: a replay must not undo that.
    await t.db.ownerQuery("update users set plan = 'business' where id = $1", [user.userId]);
    t.clock.advance(60_000);
    const replay = await deliver(t, event);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ received: true, result: 'duplicate' });
    expect(await planOf(t, user.userId)).toBe('business');
    expect((await billingActions(t)).map((e) => e.action)).toEqual(['billing.plan_changed']);
  });

  it('the same event delivered twice at the same moment: one change, one audit event', async () => {
    await linkCustomer(t, user);
    const event = stripeEvent(t, 'customer.subscription.updated', subscription('price_business'));
    const results = await Promise.all([deliver(t, event), deliver(t, event), deliver(t, event)]);
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.json().result).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await planOf(t, user.userId)).toBe('business');
    expect((await billingActions(t)).map((e) => e.action)).toEqual(['billing.plan_changed']);
    expect(await t.db.ownerQuery('select id from billing_webhook_events')).toEqual([{ id: event.id }]);
  });

  it('a downgrade disables the newest keys beyond the new limit; they are refused, listed, and come back on upgrade', async () => {
    const payer = await userOnPlan(t, 'keys@example.test', 'business');
    await linkCustomer(t, payer);
    const keys: { key: string; id: string }[] = [];
    for (let i = 0; i < 7; i++) {
      t.clock.advance(1_000);
      keys.push(await createKey(t, payer, { name: `key ${i}` }));
    }
    const newestFirst = [keys[6]!.id, keys[5]!.id];

    t.clock.advance(1_000);
    const down = stripeEvent(t, 'customer.subscription.updated', subscription('price_pro'));
    expect((await deliver(t, down)).json().result).toBe('applied');
    expect(await planOf(t, payer.userId)).toBe('pro');

    const refused = await t.app.inject({ url: '/api/v1/me', headers: bearer(keys[6]!.key) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'api_key_disabled' });
    expect(refused.json().detail).toMatch(/GET \/api\/v1\/billing/);
    expect((await t.app.inject({ url: '/api/v1/me', headers: bearer(keys[4]!.key) })).statusCode).toBe(200);

    const view = BillingStatus.parse((await status(payer)).json());
    expect(view.notices).toEqual([
      expect.objectContaining({ code: 'api_keys_disabled', apiKeyIds: newestFirst }),
    ]);
    expect(view.usage.apiKeys).toEqual({ used: 5, limit: 5 });
    const listed = (
      await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie: payer.cookie } })
    ).json();
    expect(
      listed.data.filter((k: { status: string }) => k.status === 'disabled').map((k: { id: string }) => k.id),
    ).toEqual(newestFirst);
    const changed = (await billingActions(t)).at(-1)!;
    expect(changed.metadata).toMatchObject({ from: 'business', to: 'pro', apiKeysDisabled: newestFirst });

    // The new limit holds on the next action: no sixth usable key on Pro.
    const sixth = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: asSession(t, payer),
      payload: { name: 'one more' },
    });
    expect(sixth.statusCode).toBe(403);
    expect(sixth.json().code).toBe('plan_limit_reached');

    t.clock.advance(1_000);
    const up = stripeEvent(t, 'customer.subscription.updated', subscription('price_business'));
    expect((await deliver(t, up)).json().result).toBe('applied');
    expect((await t.app.inject({ url: '/api/v1/me', headers: bearer(keys[6]!.key) })).statusCode).toBe(200);
    expect(BillingStatus.parse((await status(payer)).json()).notices).toEqual([]);
    expect((await billingActions(t)).at(-1)!.metadata).toMatchObject({
      from: 'pro',
      to: 'business',
      apiKeysDisabled: [],
      apiKeysEnabled: [keys[5]!.id, keys[6]!.id],
    });
  });

  it('customer.subscription.deleted moves the account to Free and disables every key', async () => {
    const payer = await userOnPlan(t, 'leaver@example.test', 'pro');
    await linkCustomer(t, payer);
    const { key, id } = await createKey(t, payer);
    const res = await deliver(
      t,
      stripeEvent(t, 'customer.subscription.deleted', subscription('price_pro', { status: 'canceled' })),
    );
    expect(res.json().result).toBe('applied');
    expect(await planOf(t, payer.userId)).toBe('free');
    expect((await t.app.inject({ url: '/api/v1/me', headers: bearer(key) })).json().code).toBe(
      'api_key_disabled',
    );
    const view = BillingStatus.parse((await status(payer)).json());
    expect(view.subscription).toMatchObject({ id: 'sub_1', status: 'canceled' });
    expect(view.notices[0]).toMatchObject({ code: 'api_keys_disabled', apiKeyIds: [id] });
  });

  it('an older event delivered after a newer one changes nothing', async () => {
    await linkCustomer(t, user);
    const created = Math.floor(t.clock.now().getTime() / 1000);
    const newer = stripeEvent(
      t,
      'customer.subscription.updated',
      subscription('price_business'),
      'evt_newer',
      created,
    );
    const older = stripeEvent(
      t,
      'customer.subscription.updated',
      subscription('price_pro'),
      'evt_older',
      created - 10,
    );
    expect((await deliver(t, newer)).json().result).toBe('applied');
    expect((await deliver(t, older)).json().result).toBe('ignored');
    expect(await planOf(t, user.userId)).toBe('business');
  });

  it('an unknown price is logged and answered 200 without any change', async () => {
    await linkCustomer(t, user);
    const res = await deliver(
      t,
      stripeEvent(t, 'customer.subscription.updated', subscription('price_other')),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().result).toBe('ignored');
    expect(await planOf(t, user.userId)).toBe('free');
    expect(t.logs.text).toMatch(/price_other/);
    expect(await billingActions(t)).toEqual([]);
  });

  it('an unknown customer and an unhandled event type are acknowledged without change', async () => {
    const unknown = await deliver(
      t,
      stripeEvent(t, 'customer.subscription.updated', subscription('price_pro', { customer: 'cus_nobody' })),
    );
    expect(unknown.json()).toEqual({ received: true, result: 'ignored' });
    const other = await deliver(t, stripeEvent(t, 'charge.refunded', { id: 'ch_1', object: 'charge' }));
    expect(other.json()).toEqual({ received: true, result: 'ignored' });
    expect(await planOf(t, user.userId)).toBe('free');
  });

  it('invoice.payment_failed records billing.payment_failed; past_due shows a notice and keeps the plan', async () => {
    const payer = await userOnPlan(t, 'late@example.test', 'pro');
    await linkCustomer(t, payer);
    const failed = stripeEvent(t, 'invoice.payment_failed', {
      id: 'in_1',
      object: 'invoice',
      customer: 'cus_test1',
      attempt_count: 2,
      amount_due: 2000,
      currency: 'usd',
      next_payment_attempt: 1_767_400_000,
    });
    expect((await deliver(t, failed)).json().result).toBe('applied');
    expect((await deliver(t, failed)).json().result).toBe('duplicate');
    expect(await billingActions(t)).toEqual([
      {
        action: 'billing.payment_failed',
        outcome: 'failure',
        resource_id: 'in_1',
        metadata: {
          eventId: failed.id,
          attemptCount: 2,
          amountDue: 2000,
          currency: 'usd',
          nextPaymentAttempt: new Date(1_767_400_000 * 1000).toISOString(),
        },
      },
    ]);
    await deliver(
      t,
      stripeEvent(t, 'customer.subscription.updated', subscription('price_pro', { status: 'past_due' })),
    );
    expect(await planOf(t, payer.userId)).toBe('pro');
    const view = BillingStatus.parse((await status(payer)).json());
    expect(view.notices.map((n) => n.code)).toEqual(['payment_failed']);
  });

  it('cancelSubscription cancels at once through Stripe; a no-op without a subscription', async () => {
    stripeMocks();
    expect(await t.app.billing.cancelSubscription(user.userId)).toEqual({ cancelled: false });
    expect(seen).toEqual([]);
    await linkCustomer(t, user);
    await deliver(
      t,
      stripeEvent(t, 'customer.subscription.updated', subscription('price_pro', { id: 'sub_9' })),
    );
    expect(await t.app.billing.cancelSubscription(user.userId)).toEqual({
      cancelled: true,
      subscriptionId: 'sub_9',
    });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['DELETE /v1/subscriptions/sub_9']);
    expect(BillingStatus.parse((await status()).json()).subscription).toMatchObject({ status: 'canceled' });
    seen = [];
    expect(await t.app.billing.cancelSubscription(user.userId)).toEqual({ cancelled: false });
    expect(seen).toEqual([]);
  });

  it('cancelSubscription: a subscription Stripe no longer has counts as cancelled; a Stripe failure throws 502', async () => {
    await linkCustomer(t, user);
    await deliver(
      t,
      stripeEvent(t, 'customer.subscription.updated', subscription('price_pro', { id: 'sub_7' })),
    );
    server.use(
      http.delete(`${API}/v1/subscriptions/:id`, () =>
        HttpResponse.json({ error: { type: 'api_error', message: 'boom' } }, { status: 500 }),
      ),
    );
    const failed = await t.app.billing.cancelSubscription(user.userId).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'billing_provider_error', status: 502 });
    // Still billing as far as we know: the next attempt (the purge retries) tries again.
    expect(BillingStatus.parse((await status()).json()).subscription).toMatchObject({ status: 'active' });
    server.use(
      http.delete(`${API}/v1/subscriptions/:id`, () =>
        HttpResponse.json(
          {
            error: {
              type: 'invalid_request_error',
              code: 'resource_missing',
              message: 'No such subscription',
            },
          },
          { status: 404 },
        ),
      ),
    );
    expect(await t.app.billing.cancelSubscription(user.userId)).toEqual({
      cancelled: true,
      subscriptionId: 'sub_7',
    });
    expect(BillingStatus.parse((await status()).json()).subscription).toMatchObject({ status: 'canceled' });
  });

  it('a plan change from a webhook reaches another instance at once: its cached key is refused', async () => {
    const other = await buildTestApp({ env: STRIPE_ENV, db: t.db, clock: t.clock });
    try {
      const payer = await userOnPlan(t, 'two@example.test', 'pro');
      await linkCustomer(t, payer);
      const { key } = await createKey(t, payer);
      // The other instance verifies (and caches) the key first.
      expect((await other.app.inject({ url: '/api/v1/me', headers: bearer(key) })).statusCode).toBe(200);
      const arrived = new Promise<void>((resolve) => {
        void other.app.database.listen(INVALIDATION_CHANNEL, (payload) => {
          if (payload === `u:${payer.userId}`) resolve();
        });
      });
      const res = await deliver(
        t,
        stripeEvent(t, 'customer.subscription.deleted', subscription('price_pro', { status: 'canceled' })),
      );
      expect(res.json().result).toBe('applied');
      await arrived;
      const refused = await other.app.inject({ url: '/api/v1/me', headers: bearer(key) });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('api_key_disabled');
    } finally {
      await other.close();
    }
  });
});
