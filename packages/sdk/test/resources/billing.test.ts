import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, billingStatusBody, useMsw } from '../../../testkit/src/index.js';
import {
  ConflictError,
  InternalServerError,
  NotFoundError,
  ResponseValidationError,
} from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const STATUS = billingStatusBody({
  notices: [
    {
      code: 'api_keys_disabled',
      message: '2 API keys were disabled because the Pro plan allows 5: key_b, key_a.',
      apiKeyIds: ['key_b', 'key_a'],
    },
  ],
});

describe('client.billing', () => {
  it('get() returns plan, subscription, usage and notices', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/billing`, () => HttpResponse.json(STATUS)));
    expect(await mswClient().billing.get()).toEqual(STATUS);
  });

  it('get() names the field when the server answers something else', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/billing`, () =>
        HttpResponse.json({ ...STATUS, subscription: { ...STATUS.subscription, cancelAtPeriodEnd: 'no' } }),
      ),
    );
    const error = await mswClient()
      .billing.get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as Error).message).toMatch(/subscription\.cancelAtPeriodEnd/);
  });

  it('checkout() posts the plan and returns the Checkout URL', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/billing/checkout`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({ url: 'https://checkout.stripe.com/c/pay/cs_1' });
      }),
    );
    const client = mswClient({ apiKey: undefined, accessToken: 'at_1' });
    expect(await client.billing.checkout({ plan: 'business' })).toEqual({
      url: 'https://checkout.stripe.com/c/pay/cs_1',
    });
    expect(bodies).toEqual([{ plan: 'business' }]);
  });

  it('checkout() rejects with ConflictError while a subscription bills', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/billing/checkout`, () =>
        problem(409, 'already_subscribed', { detail: 'Change or cancel it in the billing portal.' }),
      ),
    );
    const error = await mswClient()
      .billing.checkout({ plan: 'pro' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).problem?.code).toBe('already_subscribed');
  });

  it('portal() returns the portal URL; NotFoundError before the first checkout', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/billing/portal`, () =>
        HttpResponse.json({ url: 'https://billing.stripe.com/p/session/1' }),
      ),
    );
    expect(await mswClient().billing.portal()).toEqual({ url: 'https://billing.stripe.com/p/session/1' });
    server.use(http.post(`${BASE_URL}/api/v1/billing/portal`, () => problem(404, 'no_billing_account')));
    await expect(mswClient().billing.portal()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects with InternalServerError (503 billing_not_configured) on a server without Stripe', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/billing`, () => problem(503, 'billing_not_configured')));
    const error = await mswClient({ maxRetries: 0 })
      .billing.get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(503);
    expect((error as InternalServerError).problem?.code).toBe('billing_not_configured');
  });
});
