import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * Claim C4: payment card data never touches Fleece. Checkout and the customer portal are pages hosted by
 * Stripe; Fleece only stores Stripe ids. These tests look for anything card-shaped in the database schema,
 * the API description and what the server sends Stripe.
 */
const CARD =
  /card|\bpan\b|cvc|cvv|cc_?num|exp_?(month|year)|expiry|iban|account_?number|routing|payment_?method/i;

const server = setupServer();
const sent: string[] = [];
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', async ({ request }) => {
    const body = await request.clone().text();
    sent.push(`${new URL(request.url).pathname}?${body}`);
  });
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Every property name and path in an OpenAPI document. */
function names(node: unknown, into: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) names(item, into);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      into.push(key);
      names(value, into);
    }
  }
  return into;
}

describe('claim C4: card data never touches Fleece', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        STRIPE_SECRET_KEY: 'sk_test_c4',
        STRIPE_WEBHOOK_SECRET: 'whsec_c4',
        STRIPE_PRICE_PRO: 'price_pro',
        STRIPE_PRICE_BUSINESS: 'price_business',
      },
    });
  });
  afterAll(() => t.close());

  it('has no column in any table that could hold card data', async () => {
    const columns = await t.db.ownerQuery<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema not in ('pg_catalog', 'information_schema')`,
    );
    expect(columns.length).toBeGreaterThan(50);
    expect(columns.filter((c) => CARD.test(c.column_name) || CARD.test(c.table_name))).toEqual([]);
    const billing = columns.filter((c) => c.table_name === 'billing_customers').map((c) => c.column_name);
    expect(billing.sort()).toEqual([
      'cancel_at_period_end',
      'created_at',
      'current_period_end',
      'last_event_at',
      'price_id',
      'stripe_customer_id',
      'stripe_subscription_id',
      'subscription_status',
      'updated_at',
      'user_id',
    ]);
  });

  it('has no route or schema field that takes or returns card data', async () => {
    const doc = (await t.app.inject('/api/v1/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/billing', '/api/v1/billing/checkout', '/api/v1/billing/portal']),
    );
    expect(Object.keys(doc.paths).filter((p) => CARD.test(p))).toEqual([]);
    expect(names(doc).filter((n) => CARD.test(n))).toEqual([]);
  });

  it('refuses card fields in the checkout body, and sends Stripe none: the card is typed on Stripe’s page', async () => {
    const user = await userOnPlan(t, 'c4@example.test', 'free');
    server.use(
      http.post('https://api.stripe.com/v1/customers', () =>
        HttpResponse.json({ id: 'cus_c4', object: 'customer' }),
      ),
      http.post('https://api.stripe.com/v1/checkout/sessions', () =>
        HttpResponse.json({
          id: 'cs_c4',
          object: 'checkout.session',
          url: 'https://checkout.stripe.com/c/pay/cs_c4',
        }),
      ),
    );
    const withCard = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/checkout',
      headers: asSession(t, user),
      payload: { plan: 'pro', card: { number: '4242424242424242', cvc: '123' } },
    });
    expect(withCard.statusCode).toBe(400);
    expect(sent).toEqual([]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/checkout',
      headers: asSession(t, user),
      payload: { plan: 'pro' },
    });
    expect(res.statusCode, t.logs.text.slice(-3000)).toBe(200);
    expect(new URL(res.json().url).origin).toBe('https://checkout.stripe.com');
    expect(sent).toHaveLength(2);
    for (const request of sent) expect(decodeURIComponent(request)).not.toMatch(CARD);
  });
});
