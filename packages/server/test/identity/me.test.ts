import { MeResponse, User } from '@fleece/sdk/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANS } from '../../src/limits.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, deviceTokens, signIn } from '../helpers/identity.js';

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

describe('plan catalogue (docs/security.md, "Plans and entitlements")', () => {
  it('holds the API key limits of claim C9', () => {
    expect(Object.fromEntries(Object.values(PLANS).map((p) => [p.id, p.entitlements.apiKeys]))).toEqual({
      free: 0,
      pro: 5,
      business: 10,
      enterprise: 25,
    });
  });
});

describe('PATCH /api/v1/me (the display name)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  let invalid: TestUser | undefined;
  const patch = (headers: Record<string, string>, payload: unknown) =>
    t.app.inject({ method: 'PATCH', url: '/api/v1/me', headers, payload: payload as object });

  it('sets the name (trimmed); GET /api/v1/me and the browser session show it at once; audited without the name', async () => {
    const user = await userOnPlan(t, 'named@example.test', 'free');
    // Read first, so the cached view must be dropped by the change.
    expect(
      (await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).json().user.name,
    ).toBe(null);
    const res = await patch(asSession(t, user), { name: '  Ada Lovelace ' });
    expect(res.statusCode, res.body).toBe(200);
    expect(User.parse(res.json())).toMatchObject({
      id: user.userId,
      email: 'named@example.test',
      name: 'Ada Lovelace',
    });
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } });
    expect(me.json().user.name).toBe('Ada Lovelace');
    const session = await t.app.inject({ url: '/api/auth/session', headers: { cookie: user.cookie } });
    expect(session.json()).toEqual({
      signedIn: true,
      user: { email: 'named@example.test', name: 'Ada Lovelace' },
    });
    const events = (await auditEvents(t)).filter((e) => e.action === 'account.updated');
    expect(events).toEqual([
      {
        action: 'account.updated',
        outcome: 'success',
        resource_id: expect.stringMatching(/^sub_/),
        metadata: { fields: ['name'], removed: false },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain('Lovelace');
  });

  it('the same name again changes nothing and records nothing; null removes it', async () => {
    const user = await userOnPlan(t, 'same@example.test', 'free');
    expect((await patch(asSession(t, user), { name: 'Grace' })).statusCode).toBe(200);
    const before = (await auditEvents(t)).filter((e) => e.action === 'account.updated').length;
    expect((await patch(asSession(t, user), { name: 'Grace ' })).json().name).toBe('Grace');
    expect((await auditEvents(t)).filter((e) => e.action === 'account.updated')).toHaveLength(before);
    const removed = await patch(asSession(t, user), { name: null });
    expect(removed.statusCode).toBe(200);
    expect(removed.json().name).toBe(null);
    const last = (await auditEvents(t)).filter((e) => e.action === 'account.updated').at(-1);
    expect(last?.metadata).toEqual({ fields: ['name'], removed: true });
  });

  it.each([
    [{ name: '   ' }, 'body.name', 'a name needs at least one character; send null to remove it'],
    [{ name: 'x'.repeat(101) }, 'body.name', 'a name has at most 100 characters'],
    [{ name: 'Ada\nLovelace' }, 'body.name', 'a name cannot contain control characters such as line breaks'],
    [{ name: 42 }, 'body.name', 'a name is a string, or null to remove it'],
    [{}, 'body.name', 'name is required: a string, or null to remove it'],
    [{ name: 'Ada', email: 'x@example.test' }, 'body.email', 'unknown field'],
  ])('refuses %j with 400 validation_failed naming the field', async (payload, path, message) => {
    // One account for every case: magic links to one address are rate-limited.
    invalid ??= await userOnPlan(t, 'invalid@example.test', 'free');
    const user = invalid;
    const res = await patch(asSession(t, user), payload);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path, message }] });
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } });
    expect(me.json().user.name).toBe(null);
  });

  it('needs a credential, this origin for a cookie, and the write scope for an API key', async () => {
    expect((await patch({}, { name: 'Nobody' })).statusCode).toBe(401);
    const user = await userOnPlan(t, 'keys@example.test', 'pro');
    const crossSite = await patch({ cookie: user.cookie, origin: 'https://evil.test' }, { name: 'Evil' });
    expect(crossSite.statusCode).toBe(403);
    const reader = await createKey(t, user, { name: 'ro', scopes: ['read'] });
    const refused = await patch(bearer(reader.key), { name: 'Reader' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('insufficient_scope');
    const writer = await createKey(t, user, { name: 'rw', scopes: ['read', 'write'] });
    const ok = await patch(bearer(writer.key), { name: 'Writer' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().name).toBe('Writer');
  });
});
