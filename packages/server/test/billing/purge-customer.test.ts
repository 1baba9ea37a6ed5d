import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { signIn } from '../helpers/identity.js';
import { runJobs } from '../helpers/jobs.js';

const STRIPE_ENV = {
  STRIPE_SECRET_KEY: 'sk_test_fleece',
  STRIPE_WEBHOOK_SECRET: 'whsec_fleecetestsecret',
  STRIPE_PRICE_PRO: 'price_pro',
  STRIPE_PRICE_BUSINESS: 'price_business',
};
const API = 'https://api.stripe.com';
const DAY = 86_400_000;

const server = setupServer();
/** `METHOD /path` of every request Stripe (msw) got. */
let seen: string[] = [];

beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    seen.push(`${request.method} ${new URL(request.url).pathname}`);
  });
});
afterEach(() => {
  server.resetHandlers();
  seen = [];
});
afterAll(() => server.close());

const stripeError = (status: number, code: string, type = 'invalid_request_error') =>
  HttpResponse.json({ error: { type, code, message: code } }, { status });

/**
 * The account purge deletes the Stripe customer (docs/security.md C28): after it, Stripe keeps neither the
 * account's email nor its `fleece_user_id` metadata. Stripe is mocked with msw; nothing leaves the machine.
 */
describe('account purge: the Stripe customer', () => {
  let t: TestApp;
  let user: TestUser;
  beforeEach(async () => {
    t = await buildTestApp({ env: STRIPE_ENV });
    user = await userOnPlan(t, 'payer@example.test', 'pro');
    await t.db.ownerQuery(
      `insert into billing_customers (user_id, stripe_customer_id, stripe_subscription_id, subscription_status,
         created_at, updated_at) values ($1, 'cus_gone1', 'sub_gone1', 'active', now(), now())`,
      [user.userId],
    );
  });
  afterEach(() => t.close());

  async function requestAndPassGrace(): Promise<void> {
    const cookie = await signIn(t, user.email);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/account/deletion',
      headers: asSession(t, { ...user, cookie }),
    });
    expect(res.statusCode, res.body).toBe(202);
    t.clock.advance(31 * DAY);
    await t.db.ownerQuery("update pgboss.job set start_after = now() where name = 'account.purge'");
  }

  const users = async () =>
    (
      await t.db.ownerQuery<{ n: number }>('select count(*)::int as n from users where id = $1', [
        user.userId,
      ])
    )[0]!.n;

  it('cancels the subscription when deletion is requested, and the purge deletes the customer', async () => {
    server.use(
      http.delete(`${API}/v1/subscriptions/:id`, ({ params }) =>
        HttpResponse.json({ id: params.id, object: 'subscription', status: 'canceled' }),
      ),
      http.delete(`${API}/v1/customers/:id`, ({ params }) =>
        HttpResponse.json({ id: params.id, object: 'customer', deleted: true }),
      ),
    );
    await requestAndPassGrace();
    expect(seen).toEqual(['DELETE /v1/subscriptions/sub_gone1']);
    seen = [];
    const ran = await runJobs(t.app, 'account.purge');
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    // The subscription was cancelled already (status stored): only the customer is deleted now.
    expect(seen).toEqual(['DELETE /v1/customers/cus_gone1']);
    expect(await users()).toBe(0);
  });

  it('a customer Stripe no longer has counts as deleted, and a Stripe failure fails the purge, which retries', async () => {
    server.use(
      http.delete(`${API}/v1/subscriptions/:id`, ({ params }) =>
        HttpResponse.json({ id: params.id, object: 'subscription', status: 'canceled' }),
      ),
      http.delete(`${API}/v1/customers/:id`, () => stripeError(500, 'boom', 'api_error')),
    );
    await requestAndPassGrace();
    const failed = await t.app.billing.deleteCustomer(user.userId).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'billing_provider_error', status: 502 });
    const first = await runJobs(t.app, 'account.purge');
    expect(first.map((j) => j.outcome)).toEqual(['failed']);
    // Nothing was deleted while Stripe still has the customer.
    expect(await users()).toBe(1);

    // The retry finds it gone (an earlier attempt deleted it after all): 404 is success.
    server.use(http.delete(`${API}/v1/customers/:id`, () => stripeError(404, 'resource_missing')));
    expect(await t.app.billing.deleteCustomer(user.userId)).toEqual({
      deleted: true,
      customerId: 'cus_gone1',
    });
    const retried = await runJobs(t.app, 'account.purge', { includeDelayed: true });
    expect(retried.map((j) => j.outcome)).toEqual(['completed']);
    expect(await users()).toBe(0);
  });

  it('calls Stripe for no customer when the user never had one', async () => {
    await t.db.ownerQuery('delete from billing_customers where user_id = $1', [user.userId]);
    expect(await t.app.billing.deleteCustomer(user.userId)).toEqual({ deleted: false });
    await requestAndPassGrace();
    expect((await runJobs(t.app, 'account.purge')).map((j) => j.outcome)).toEqual(['completed']);
    expect(seen).toEqual([]);
    expect(await users()).toBe(0);
  });
});
