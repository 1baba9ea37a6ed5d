import { AccountDeletion } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { withUser } from '../../src/db/tenant.js';
import { FRESH_AUTH_MAX_AGE_MS } from '../../src/modules/deletion/service.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import {
  auditEvents,
  deviceTokens,
  requestMagicToken,
  setCookie,
  signIn,
  verifyMagicToken,
} from '../helpers/identity.js';
import { runJobs } from '../helpers/jobs.js';

const DAY = 86_400_000;

describe('account deletion: request, pending account, cancel', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  const requestDeletion = (headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/api/v1/account/deletion', headers });
  const cancel = (headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/api/v1/account/deletion/cancel', headers });
  const state = (headers: Record<string, string>) =>
    t.app.inject({ url: '/api/v1/account/deletion', headers });
  const refresh = (token: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      payload: { grant_type: 'refresh_token', refresh_token: token, client_id: 'fleece-cli' },
    });
  /** Signs `user` in again (a new magic link): a fresh session. */
  const signInAgain = async (user: TestUser): Promise<TestUser> => ({
    ...user,
    cookie: await signIn(t, user.email),
  });

  it('refuses API keys (403 forbidden) and sessions signed in more than 10 minutes ago (403 reauthentication_required)', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const { key } = await createKey(t, ada);
    const viaKey = await requestDeletion(bearer(key));
    expect(viaKey.statusCode).toBe(403);
    expect(viaKey.json().code).toBe('forbidden');

    t.clock.advance(FRESH_AUTH_MAX_AGE_MS + 1_000);
    const stale = await requestDeletion(asSession(t, ada));
    expect(stale.statusCode).toBe(403);
    expect(stale.json()).toMatchObject({
      code: 'reauthentication_required',
      status: 403,
      maxAgeSeconds: 600,
      detail: expect.stringMatching(/sign in again/i),
    });
    // Nothing changed.
    expect((await state(asSession(t, ada))).json()).toMatchObject({ status: 'active', purgeAfter: null });
    expect((await auditEvents(t)).some((e) => e.action.startsWith('account.'))).toBe(false);

    // A fresh magic-link sign-in satisfies it.
    const fresh = await signInAgain(ada);
    expect((await requestDeletion(asSession(t, fresh))).statusCode).toBe(202);
  });

  it('marks the account pending, revokes every session, refresh token and API key at once, and answers 202 with the purge date', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const { key } = await createKey(t, ada);
    const cli = await deviceTokens(t, ada.cookie);
    const other = await signInAgain(ada);
    const requestedAt = t.clock.now();

    const res = await requestDeletion(asSession(t, ada));
    expect(res.statusCode, res.body).toBe(202);
    expect(AccountDeletion.parse(res.json())).toEqual({
      status: 'pending_deletion',
      requestedAt: requestedAt.toISOString(),
      purgeAfter: new Date(requestedAt.getTime() + 7 * DAY).toISOString(),
      cancellable: true,
      graceDays: 7,
    });
    // The session cookie is cleared in the answer.
    expect(setCookie(res, '__Host-fleece_session')?.value).toBe('');

    for (const headers of [
      { cookie: ada.cookie },
      { cookie: other.cookie },
      bearer(key),
      bearer(cli.access_token),
    ]) {
      const me = await t.app.inject({ url: '/api/v1/me', headers });
      expect(me.statusCode, JSON.stringify(headers)).toBe(401);
    }
    const refreshed = await refresh(cli.refresh_token);
    expect(refreshed.statusCode).toBe(400);
    expect(refreshed.json().error).toBe('invalid_grant');
    // Another account is untouched.
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: bob.cookie } })).statusCode).toBe(200);

    const [row] = await t.db.ownerQuery<{ status: string }>('select status from users where id = $1', [
      ada.userId,
    ]);
    expect(row!.status).toBe('pending_deletion');
    const events = await auditEvents(t);
    const requested = events.filter((e) => e.action === 'account.deletion_requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]!.metadata).toEqual({
      purgeAfter: new Date(requestedAt.getTime() + 7 * DAY).toISOString(),
      graceDays: 7,
      sessionsRevoked: 3,
      keysRevoked: 1,
    });
    expect(
      events.filter((e) => e.action === 'api_key.revoked' && e.metadata.reason === 'account_deletion'),
    ).toHaveLength(1);
    // The purge is queued for the end of the grace period, named by the deletion, not the person.
    const jobs = await t.db.ownerQuery<{ data: Record<string, unknown> }>(
      "select data from pgboss.job where name = 'account.purge'",
    );
    expect(jobs).toEqual([{ data: { deletionId: expect.stringMatching(/^del_[0-9a-z]{24}$/) } }]);
  });

  it('lets a pending account sign in only to see its state and cancel: 403 account_pending_deletion elsewhere', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    expect((await requestDeletion(asSession(t, ada))).statusCode).toBe(202);

    const back = await signInAgain(ada);
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: back.cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.status).toBe('pending_deletion');
    expect((await state({ cookie: back.cookie })).json()).toMatchObject({
      status: 'pending_deletion',
      cancellable: true,
    });
    for (const [method, url] of [
      ['GET', '/api/v1/agents'],
      ['POST', '/api/v1/api-keys'],
      ['GET', '/api/v1/sessions'],
      ['POST', '/api/v1/account/deletion'],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers: asSession(t, back),
        payload: method === 'POST' ? {} : undefined,
      });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('account_pending_deletion');
      expect(res.json().detail).toContain('/api/v1/account/deletion/cancel');
    }
    // The CLI can sign in too (device flow approved in the browser), and gets the same limits.
    const cli = await deviceTokens(t, back.cookie);
    expect((await state(bearer(cli.access_token))).json().status).toBe('pending_deletion');
    expect(
      (await t.app.inject({ url: '/api/v1/agents', headers: bearer(cli.access_token) })).statusCode,
    ).toBe(403);
  });

  it('still refuses a suspended account at sign-in (only pending accounts may come back)', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await t.db.ownerQuery("update users set status = 'suspended' where id = $1", [ada.userId]);
    const res = await verifyMagicToken(t, await requestMagicToken(t, ada.email));
    expect(res.statusCode).not.toBe(200);
    expect(setCookie(res, '__Host-fleece_session')?.value ?? '').toBe('');
  });

  it('starts no execution for a pending account, whatever asks (a flow schedule runs as a job, not a request)', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    expect((await requestDeletion(asSession(t, ada))).statusCode).toBe(202);
    const consume = () =>
      withUser(t.app.db, ada.userId, (tx) => t.app.entitlements.consumeExecution(tx, ada.userId));
    await expect(consume()).rejects.toMatchObject({ code: 'account_pending_deletion', status: 403 });
    const back = await signInAgain(ada);
    expect((await cancel(asSession(t, back))).statusCode).toBe(200);
    await expect(consume()).resolves.toMatchObject({ used: 1 });
  });

  it('cancels within the grace period: the account is active again, keys stay revoked, audited', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const { key } = await createKey(t, ada);
    expect((await requestDeletion(asSession(t, ada))).statusCode).toBe(202);
    t.clock.advance(7 * DAY - 60_000);
    const back = await signInAgain(ada);
    const res = await cancel(asSession(t, back));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      status: 'active',
      requestedAt: null,
      purgeAfter: null,
      cancellable: false,
      graceDays: 7,
    });
    expect((await t.app.inject({ url: '/api/v1/agents', headers: { cookie: back.cookie } })).statusCode).toBe(
      200,
    );
    expect((await t.app.inject({ url: '/api/v1/me', headers: bearer(key) })).statusCode).toBe(401);
    expect((await auditEvents(t)).filter((e) => e.action === 'account.deletion_cancelled')).toHaveLength(1);

    // The queued purge finds nothing to do once its date comes.
    t.clock.advance(2 * DAY);
    const ran = await runJobs(t.app, 'account.purge', { includeDelayed: true });
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    expect(await t.db.ownerQuery('select id from users where id = $1', [ada.userId])).toHaveLength(1);

    // Cancelling again: nothing is pending.
    const again = await cancel(asSession(t, back));
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('deletion_not_pending');
  });

  it('refuses to cancel once the grace period is over (409 deletion_in_progress)', async () => {
    t = await buildTestApp({ env: { FLEECE_DELETION_GRACE_DAYS: '3' } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const res = await requestDeletion(asSession(t, ada));
    expect(res.json().purgeAfter).toBe(new Date(t.clock.now().getTime() + 3 * DAY).toISOString());
    t.clock.advance(3 * DAY);
    const back = await signInAgain(ada);
    expect((await state({ cookie: back.cookie })).json()).toMatchObject({
      status: 'pending_deletion',
      cancellable: false,
    });
    const late = await cancel(asSession(t, back));
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('deletion_in_progress');
  });
});

describe('account deletion: configuration', () => {
  it('reads FLEECE_DELETION_GRACE_DAYS: default 7, at most 30', () => {
    const env = { NODE_ENV: 'test', FLEECE_DATA_DIR: 'memory://' };
    expect(loadConfig(env).deletionGraceDays).toBe(7);
    expect(loadConfig({ ...env, FLEECE_DELETION_GRACE_DAYS: '30' }).deletionGraceDays).toBe(30);
    for (const bad of ['31', '0', '7.5', 'week']) {
      expect(() => loadConfig({ ...env, FLEECE_DELETION_GRACE_DAYS: bad })).toThrow(
        /FLEECE_DELETION_GRACE_DAYS/,
      );
    }
  });
});
