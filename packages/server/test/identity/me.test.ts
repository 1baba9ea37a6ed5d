import { MeResponse } from '@fleece/sdk/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANS } from '../../src/modules/plans/catalogue.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens, signIn } from '../helpers/identity.js';

describe('GET /api/v1/me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { FLEECE_ADMIN_EMAILS: 'boss@example.test' } });
  });
  afterAll(() => t.close());

  it('answers 401 without credentials', async () => {
    const res = await t.app.inject('/api/v1/me');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unauthenticated');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers the account, the plan with its entitlements, and live usage', async () => {
    const cookie = await signIn(t, 'me@example.test');
    await signIn(t, 'me@example.test');
    const res = await t.app.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    const me = MeResponse.parse(res.json());
    expect(me).toEqual({
      user: {
        id: expect.stringMatching(/^usr_[0-9a-z]{24}$/),
        email: 'me@example.test',
        name: null,
        role: 'user',
        status: 'active',
        emailVerified: true,
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      plan: { id: 'free', name: 'Free' },
      entitlements: PLANS.free.entitlements,
      // Every limit with its usage (agents join when the AI platform registers its counter).
      usage: expect.objectContaining({
        activeSessions: 2,
        apiKeys: { used: 0, limit: 0 },
        executions: { used: 0, limit: 50, period: '2026-01', resetsAt: '2026-02-01T00:00:00.000Z' },
        apiRequests: { minute: { used: 0, limit: null }, day: { used: 0, limit: null } },
      }),
    });
  });

  it('reflects the plan of the account', async () => {
    const cookie = await signIn(t, 'pro@example.test');
    await t.db.ownerQuery("update users set plan = 'pro' where email = 'pro@example.test'");
    const me = (await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).json();
    expect(me.plan).toEqual({ id: 'pro', name: 'Pro' });
    expect(me.entitlements).toEqual({
      apiKeys: 5,
      agents: 10,
      executionsPerMonth: 2000,
      historyRetentionDays: 30,
      premiumModels: true,
      apiBurstPerMinute: 60,
      apiPerDay: 5000,
    });
  });

  it('promotes a verified address listed in FLEECE_ADMIN_EMAILS at sign-in', async () => {
    const cookie = await signIn(t, 'Boss@Example.test');
    const me = (await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).json();
    expect(me.user.role).toBe('admin');
  });

  it('works with a CLI access token too', async () => {
    const cookie = await signIn(t, 'bearer@example.test');
    const tokens = await deviceTokens(t, cookie);
    const res = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(res.json().user.email).toBe('bearer@example.test');
    expect(res.json().usage.activeSessions).toBe(2);
  });
});

describe('plan catalogue (DESIGN.md §5)', () => {
  it('holds the API key limits of claim C9', () => {
    expect(Object.fromEntries(Object.values(PLANS).map((p) => [p.id, p.entitlements.apiKeys]))).toEqual({
      free: 0,
      pro: 5,
      business: 10,
      enterprise: 25,
    });
  });
});
