import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, billingStatusBody, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };
const CHECKOUT = 'https://checkout.stripe.com/c/pay/cs_test_1';

const STATUS = billingStatusBody({
  usage: { agents: { used: 2, limit: 10 } },
  notices: [
    {
      code: 'api_keys_disabled',
      message: '1 API key was disabled because the Pro plan allows 5: key_b.',
      apiKeyIds: ['key_b'],
    },
  ],
});

/** Answers checkout with the Checkout URL, recording the bodies. */
function checkoutServer(): unknown[] {
  const bodies: unknown[] = [];
  server.use(
    http.post(`${BASE_URL}/api/v1/billing/checkout`, async ({ request }) => {
      bodies.push(await request.json());
      return HttpResponse.json({ url: CHECKOUT });
    }),
  );
  return bodies;
}

describe('fleece billing', () => {
  it('shows plan, subscription and usage on stdout, notices as warnings (status is the default)', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/billing`, () => HttpResponse.json(STATUS)));
    for (const args of [['billing'], ['billing', 'status']]) {
      const result = await runCli(args, { env });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(
        'plan\tPro\n' +
          'subscription\tactive, renews 2026-02-01 (sub_1)\n' +
          'api keys\t5 of 5\n' +
          'agents\t2 of 10\n' +
          'executions 2026-01\t3 of 2000\n',
      );
      expect(result.stderr).toBe('! 1 API key was disabled because the Pro plan allows 5: key_b.\n');
    }
    const json = await runCli(['billing', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual(STATUS);
  });

  it('says when the subscription ends instead of renewing', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/billing`, () =>
        HttpResponse.json({
          ...STATUS,
          subscription: { ...STATUS.subscription, cancelAtPeriodEnd: true },
          notices: [],
        }),
      ),
    );
    const result = await runCli(['billing'], { env });
    expect(result.stdout).toContain('subscription\tactive, ends 2026-02-01 (sub_1)\n');
  });

  it('upgrade opens Stripe Checkout for the plan and says so', async () => {
    const bodies = checkoutServer();
    const result = await runCli(['billing', 'upgrade', '--plan', 'business'], { env });
    expect(result.exitCode).toBe(0);
    expect(bodies).toEqual([{ plan: 'business' }]);
    expect(result.opened).toEqual([CHECKOUT]);
    expect(result.stderr).toBe(
      `Opened the Stripe Checkout page in your browser: ${CHECKOUT}\n` +
        'Your plan changes once Stripe confirms the payment; check with `fleece billing`.\n',
    );
    expect(result.stdout).toBe('');
  });

  it('upgrade defaults to Pro, and prints the address when no browser opens', async () => {
    const bodies = checkoutServer();
    const result = await runCli(['billing', 'upgrade'], {
      env,
      openBrowser: async () => {
        throw new Error('no display');
      },
    });
    expect(result.exitCode).toBe(0);
    expect(bodies).toEqual([{ plan: 'pro' }]);
    expect(result.stderr).toContain(`Open the Stripe Checkout page in your browser: ${CHECKOUT}\n`);
  });

  it('upgrade --json prints { plan, url } and opens nothing; --no-browser only prints', async () => {
    checkoutServer();
    const json = await runCli(['billing', 'upgrade', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ plan: 'pro', url: CHECKOUT });
    expect(json.opened).toEqual([]);
    const printed = await runCli(['billing', 'upgrade', '--no-browser'], { env });
    expect(printed.opened).toEqual([]);
    expect(printed.stderr).toContain(`Open the Stripe Checkout page in your browser: ${CHECKOUT}\n`);
  });

  it('upgrade refuses a plan that cannot be bought with exit 2, sending nothing', async () => {
    const bodies = checkoutServer();
    const result = await runCli(['billing', 'upgrade', '--plan', 'enterprise'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--plan must be pro or business, not "enterprise".');
    expect(bodies).toEqual([]);
  });

  it('upgrade with a running subscription points at the portal', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/billing/checkout`, () =>
        problem(409, 'already_subscribed', { detail: 'You already have a subscription (active).' }),
      ),
    );
    const result = await runCli(['billing', 'upgrade'], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('You already have a subscription.');
    expect(result.stderr).toContain(
      'hint: Change or cancel it in the Stripe customer portal: `fleece billing portal`.',
    );
    expect(result.opened).toEqual([]);
  });

  it('portal opens the customer portal', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/billing/portal`, () =>
        HttpResponse.json({ url: 'https://billing.stripe.com/p/session/1' }),
      ),
    );
    const result = await runCli(['billing', 'portal'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.opened).toEqual(['https://billing.stripe.com/p/session/1']);
  });

  it('on a server without billing, explains that an administrator sets plans', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/billing`, () => problem(503, 'billing_not_configured')),
      http.post(`${BASE_URL}/api/v1/billing/checkout`, () => problem(503, 'billing_not_configured')),
    );
    for (const args of [['billing'], ['billing', 'upgrade']]) {
      const result = await runCli(args, { env });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Billing is not enabled on this server (it has no Stripe keys).');
      expect(result.stderr).toContain(
        'hint: An administrator sets plans on this server: ask yours to change your plan.',
      );
      expect(result.opened).toEqual([]);
    }
  });

  it('fleece keys list marks the keys a downgrade disabled', async () => {
    const key = (id: string, status: string) => ({
      id,
      name: id.slice(4),
      start: 'AbCdEfGh',
      scopes: ['read'],
      status,
      expiresAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    server.use(
      http.get(`${BASE_URL}/api/v1/api-keys`, () =>
        HttpResponse.json({
          data: [key('key_newest', 'disabled'), key('key_older', 'active')],
          nextCursor: null,
        }),
      ),
    );
    const result = await runCli(['keys', 'list'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      'key_newest\tnewest\tflc_AbCdEfGh…\tread\texpires never\tnever used\tdisabled: over the plan’s key limit (see `fleece billing`)\n' +
        'key_older\tolder\tflc_AbCdEfGh…\tread\texpires never\tnever used\n',
    );
  });
});
