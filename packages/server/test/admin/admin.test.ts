import { AdminUser, AdminUserPage } from '@fleece/sdk/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { INVALIDATION_CHANNEL } from '../../src/db/invalidation.js';
import { PLANS } from '../../src/limits.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

describe('admin: /api/v1/admin/users', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeEach(async () => {
    t = await buildTestApp({ env: { FLEECE_ADMIN_EMAILS: 'root@example.test' } });
    admin = await userOnPlan(t, 'root@example.test', 'business');
  });
  afterEach(() => t.close());

  const list = (query = '', user = admin) =>
    t.app.inject({ url: `/api/v1/admin/users${query}`, headers: { cookie: user.cookie } });
  const patch = (id: string, payload: unknown, user = admin) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/users/${id}`,
      headers: asSession(t, user),
      payload: payload as Record<string, unknown>,
    });
  const me = (headers: Record<string, string>) => t.app.inject({ url: '/api/v1/me', headers });

  it('is for admins with a session only: 401 anonymous, 403 for users and for API keys', async () => {
    const user = await userOnPlan(t, 'user@example.test');
    expect((await t.app.inject('/api/v1/admin/users')).statusCode).toBe(401);
    const forbidden = await list('', user);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe('forbidden');
    const { key } = await createKey(t, admin);
    const viaKey = await t.app.inject({ url: '/api/v1/admin/users', headers: bearer(key) });
    expect(viaKey.statusCode).toBe(403);
    expect(viaKey.json().detail).toMatch(/API keys cannot/);
  });

  it('lists and searches users, newest first, with cursor pagination', async () => {
    t.clock.advance(1_000);
    await userOnPlan(t, 'ada.lovelace@example.test', 'pro');
    t.clock.advance(1_000);
    const grace = await userOnPlan(t, 'grace@example.test', 'enterprise');
    t.clock.advance(1_000);
    await userOnPlan(t, 'linus@example.test', 'free');
    const all = AdminUserPage.parse((await list()).json());
    expect(all.data.map((u) => u.email)).toEqual([
      'linus@example.test',
      'grace@example.test',
      'ada.lovelace@example.test',
      'root@example.test',
    ]);
    expect((await list('?q=LOVELACE')).json().data.map((u: AdminUser) => u.email)).toEqual([
      'ada.lovelace@example.test',
    ]);
    expect((await list(`?q=${grace.userId}`)).json().data).toEqual([
      expect.objectContaining({ id: grace.userId, plan: 'enterprise', limits: null, status: 'active' }),
    ]);
    expect((await list('?plan=free')).json().data.map((u: AdminUser) => u.email)).toEqual([
      'linus@example.test',
    ]);
    expect((await list('?q=%25')).json().data).toEqual([]);
    const first = (await list('?limit=3')).json();
    expect(first.data).toHaveLength(3);
    const rest = (await list(`?limit=3&cursor=${first.nextCursor}`)).json();
    expect(rest).toEqual({
      data: [expect.objectContaining({ email: 'root@example.test' })],
      nextCursor: null,
    });
    expect((await list('?cursor=bogus')).statusCode).toBe(400);
  });

  it('sets a plan: admin.plan_overridden in the user’s log, and the user sees it at once', async () => {
    const user = await userOnPlan(t, 'upgrade@example.test', 'free');
    expect((await me({ cookie: user.cookie })).json().plan.id).toBe('free');
    const res = await patch(user.userId, { plan: 'business' });
    expect(res.statusCode).toBe(200);
    expect(AdminUser.parse(res.json())).toMatchObject({ id: user.userId, plan: 'business' });
    const after = (await me({ cookie: user.cookie })).json();
    expect(after.plan).toEqual({ id: 'business', name: 'Business' });
    expect(after.entitlements).toEqual(PLANS.business.entitlements);
    const events = (await auditEvents(t)).filter((e) => e.action === 'admin.plan_overridden');
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'success',
        metadata: { from: 'free', to: 'business', keysRevoked: 0 },
      }),
    ]);
  });

  it('overrides Enterprise limits per account, and refuses them on other plans', async () => {
    const user = await userOnPlan(t, 'big@example.test', 'enterprise');
    const res = await patch(user.userId, { limits: { apiKeys: 40, executionsPerMonth: 1_000_000 } });
    expect(res.json()).toMatchObject({ limits: { apiKeys: 40, executionsPerMonth: 1_000_000 } });
    const seen = (await me({ cookie: user.cookie })).json();
    expect(seen.entitlements).toMatchObject({ apiKeys: 40, executionsPerMonth: 1_000_000, agents: 500 });
    expect((await patch(user.userId, { limits: null })).json().limits).toBeNull();

    const pro = await userOnPlan(t, 'pro@example.test', 'pro');
    const refused = await patch(pro.userId, { limits: { apiKeys: 40 } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([
      { path: 'body.limits', message: 'limit overrides apply only to the Enterprise plan' },
    ]);
    const unknownField = await patch(pro.userId, { limits: { seats: 3 } });
    expect(unknownField.statusCode).toBe(400);
    expect((await patch(pro.userId, {})).statusCode).toBe(400);
  });

  it('suspends: every session and API key of the user ends at once; reinstating does not revive them', async () => {
    const user = await userOnPlan(t, 'suspect@example.test', 'pro');
    const { key } = await createKey(t, user);
    expect((await me({ cookie: user.cookie })).statusCode).toBe(200);
    expect((await me(bearer(key))).statusCode).toBe(200);
    const res = await patch(user.userId, { status: 'suspended' });
    expect(res.json()).toMatchObject({ status: 'suspended' });
    expect((await me({ cookie: user.cookie })).statusCode).toBe(401);
    expect((await me(bearer(key))).statusCode).toBe(401);
    const events = await auditEvents(t);
    expect(events.filter((e) => e.action === 'admin.user_suspended')).toEqual([
      expect.objectContaining({ metadata: { status: 'suspended', sessionsRevoked: 1, keysRevoked: 1 } }),
    ]);
    expect(events.filter((e) => e.action === 'api_key.revoked')).toHaveLength(1);

    expect((await patch(user.userId, { status: 'active' })).json().status).toBe('active');
    expect((await me({ cookie: user.cookie })).statusCode).toBe(401);
    expect((await me(bearer(key))).statusCode).toBe(401);
    const reinstated = (await auditEvents(t)).filter((e) => e.action === 'admin.user_suspended');
    expect(reinstated[1]).toMatchObject({
      metadata: { status: 'active', sessionsRevoked: 0, keysRevoked: 0 },
    });
  });

  it('moving a user to Free revokes their API keys (Free accounts cannot hold keys)', async () => {
    const user = await userOnPlan(t, 'down@example.test', 'pro');
    const { key } = await createKey(t, user);
    await patch(user.userId, { plan: 'free' });
    const res = await me(bearer(key));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_api_key');
  });

  it('moving a user to a plan with fewer keys disables the newest over it; moving back enables them', async () => {
    const user = await userOnPlan(t, 'shrink@example.test', 'business');
    const keys: { key: string; id: string }[] = [];
    for (let i = 0; i < 7; i++) {
      t.clock.advance(1_000);
      keys.push(await createKey(t, user, { name: `k${i}` }));
    }
    await patch(user.userId, { plan: 'pro' });
    const refused = await me(bearer(keys[6]!.key));
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('api_key_disabled');
    expect((await me(bearer(keys[4]!.key))).statusCode).toBe(200);
    await patch(user.userId, { plan: 'business' });
    expect((await me(bearer(keys[6]!.key))).statusCode).toBe(200);
    const changes = (await auditEvents(t)).filter((e) => e.action === 'admin.plan_overridden');
    expect(changes.map((e) => e.metadata)).toEqual([
      { from: 'business', to: 'pro', keysRevoked: 0, keysDisabled: [keys[6]!.id, keys[5]!.id] },
      { from: 'pro', to: 'business', keysRevoked: 0, keysEnabled: [keys[5]!.id, keys[6]!.id] },
    ]);
  });

  it('refuses to suspend yourself, and answers 404 for an unknown user', async () => {
    const self = await patch(admin.userId, { status: 'suspended' });
    expect(self.statusCode).toBe(400);
    expect(self.json().errors).toEqual([{ path: 'body.status', message: 'you cannot suspend yourself' }]);
    const missing = await patch('usr_nobody000000000000000000', { plan: 'pro' });
    expect(missing.statusCode).toBe(404);
  });
});

describe('fleece-server admin', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) } };
  };

  it('names the flags of its usage and refuses unknown plans', async () => {
    const a = io();
    expect(await main(['admin', 'set-plan', 'x@example.test', 'platinum'], {}, a.io)).toBe(2);
    expect(a.err.join('\n')).toContain('admin set-plan <email> <free|pro|business|enterprise>');
    const b = io();
    expect(await main(['admin', 'grant'], {}, b.io)).toBe(2);
  });

  it('says so when no account has the address', async () => {
    const a = io();
    const code = await main(['admin', 'grant', 'ghost@example.test'], { FLEECE_DATA_DIR: 'memory://' }, a.io);
    expect(code).toBe(1);
    expect(a.err).toEqual([
      'fleece-server: no account uses ghost@example.test. Sign in once with that address (a magic link works), then run this again.',
    ]);
  });

  it.runIf(backend === 'postgres')(
    'grants admin and sets a plan on a running deployment, which sees it at once',
    async () => {
      const t = await buildTestApp();
      try {
        const user = await userOnPlan(t, 'boss@example.test', 'free');
        const env = { DATABASE_URL: t.db.url!, LOG_LEVEL: 'silent' };
        const arrived = new Promise<void>((resolve) => {
          void t.app.database.listen(INVALIDATION_CHANNEL, (p) => {
            if (p === `u:${user.userId}`) resolve();
          });
        });
        const a = io();
        expect(await main(['admin', 'grant', 'BOSS@example.test'], env, a.io)).toBe(0);
        expect(a.out).toEqual([`BOSS@example.test (${user.userId}) is now an admin.`]);
        await arrived;
        expect(
          (await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).json().user.role,
        ).toBe('admin');
        const b = io();
        expect(await main(['admin', 'set-plan', 'boss@example.test', 'enterprise'], env, b.io)).toBe(0);
        expect(b.out).toEqual([`boss@example.test (${user.userId}) is now on the Enterprise plan.`]);
        const [row] = await t.db.ownerQuery<{ plan: string }>('select plan from users where id = $1', [
          user.userId,
        ]);
        expect(row!.plan).toBe('enterprise');
        const events = (await auditEvents(t)).filter((e) => e.action === 'admin.plan_overridden');
        expect(events).toEqual([
          expect.objectContaining({ metadata: { from: 'free', to: 'enterprise', keysRevoked: 0 } }),
        ]);
      } finally {
        await t.close();
      }
    },
  );
});
