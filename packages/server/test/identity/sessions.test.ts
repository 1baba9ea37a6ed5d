import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Database, postgresDatabase } from '../../src/db/client.js';
import { SESSION_TIMEOUTS, SESSIONS_CHANNEL } from '../../src/modules/identity/sessions.service.js';
import { BROWSER_ACCESS_TOKEN_TTL_S } from '../../src/modules/identity/tokens.js';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, deviceTokens, originOf, setCookie, signIn } from '../helpers/identity.js';

describe('sessions (claim C8)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const me = (cookie: string) => t.app.inject({ url: '/api/v1/me', headers: { cookie } });

  it('lists the caller’s sessions with device info, marking the current one', async () => {
    const a = await signIn(t, 'list@example.test');
    await signIn(t, 'list@example.test');
    const res = await t.app.inject({
      url: '/api/v1/sessions',
      headers: { cookie: a, 'user-agent': 'ignored' },
    });
    expect(res.statusCode).toBe(200);
    const { data, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(data).toHaveLength(2);
    expect(data.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(data[0]).toMatchObject({ kind: 'browser', method: 'magic_link', clientId: null, ip: '127.0.0.1' });
  });

  it('pages the list with a cursor', async () => {
    const cookie = await signIn(t, 'pages@example.test');
    t.clock.advance(1000);
    await signIn(t, 'pages@example.test');
    t.clock.advance(1000);
    await signIn(t, 'pages@example.test');
    const first = (await t.app.inject({ url: '/api/v1/sessions?limit=2', headers: { cookie } })).json();
    expect(first.data).toHaveLength(2);
    const second = (
      await t.app.inject({ url: `/api/v1/sessions?limit=2&cursor=${first.nextCursor}`, headers: { cookie } })
    ).json();
    expect(second.data).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    const bad = await t.app.inject({ url: '/api/v1/sessions?cursor=garbage', headers: { cookie } });
    expect(bad.statusCode).toBe(400);
  });

  it('revokes one session at once, and records session.revoked', async () => {
    const a = await signIn(t, 'revoke@example.test');
    const b = await signIn(t, 'revoke@example.test');
    expect((await me(b)).statusCode).toBe(200);
    const list = (await t.app.inject({ url: '/api/v1/sessions', headers: { cookie: a } })).json().data;
    const other = list.find((s: { current: boolean }) => !s.current).id;
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/sessions/${other}`,
      headers: { cookie: a, origin: originOf(t) },
    });
    expect(res.statusCode).toBe(204);
    expect((await me(b)).statusCode).toBe(401);
    expect((await me(a)).statusCode).toBe(200);
    const revoked = (await auditEvents(t)).filter((e) => e.action === 'session.revoked');
    expect(revoked).toEqual([expect.objectContaining({ outcome: 'success', resource_id: other })]);
  });

  it('answers 404 for another user’s session, exactly as for a missing one', async () => {
    const mine = await signIn(t, 'owner@example.test');
    const theirs = await signIn(t, 'other@example.test');
    const id = (await t.app.inject({ url: '/api/v1/sessions', headers: { cookie: theirs } })).json().data[0]
      .id;
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/sessions/${id}`,
      headers: { cookie: mine, origin: originOf(t) },
    });
    const missing = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/sessions/ses_missing',
      headers: { cookie: mine, origin: originOf(t) },
    });
    expect(res.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect((await me(theirs)).statusCode).toBe(200);
  });

  it('revokes every session but the current one, CLI sessions included', async () => {
    const a = await signIn(t, 'all@example.test');
    const b = await signIn(t, 'all@example.test');
    const cli = await deviceTokens(t, b);
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/sessions',
      headers: { cookie: a, origin: originOf(t) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 2 });
    expect((await me(a)).statusCode).toBe(200);
    expect((await me(b)).statusCode).toBe(401);
    const bearer = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${cli.access_token}` },
    });
    expect(bearer.statusCode).toBe(401);
  });

  it('refuses a cookie-authenticated DELETE without our Origin', async () => {
    const a = await signIn(t, 'origin@example.test');
    for (const headers of [{ cookie: a }, { cookie: a, origin: 'https://evil.test' }]) {
      const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('cross_origin_denied');
    }
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const a = await signIn(t, 'logout@example.test');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie: a, origin: originOf(t) },
    });
    expect(res.statusCode).toBe(204);
    expect(setCookie(res, SESSION_COOKIE)?.raw).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect((await me(a)).statusCode).toBe(401);
    expect((await auditEvents(t)).map((e) => e.action)).toContain('auth.logout');
  });

  it('slides: an expired cookie JWT of a live session is replaced, and the new one works', async () => {
    const a = await signIn(t, 'slide@example.test');
    t.clock.advance((BROWSER_ACCESS_TOKEN_TTL_S + 60) * 1000);
    const res = await me(a);
    expect(res.statusCode).toBe(200);
    const next = setCookie(res, SESSION_COOKIE);
    expect(next).toBeDefined();
    expect(`${SESSION_COOKIE}=${next!.value}`).not.toBe(a);
    expect((await me(`${SESSION_COOKIE}=${next!.value}`)).statusCode).toBe(200);
  });

  it('ends a browser session after 7 idle days', async () => {
    const a = await signIn(t, 'idle@example.test');
    t.clock.advance(SESSION_TIMEOUTS.browser.idleMs + 1000);
    const res = await me(a);
    expect(res.statusCode).toBe(401);
    expect(setCookie(res, SESSION_COOKIE)?.value).toBe('');
  });

  it('ends a browser session after 30 days even when it is used every day', async () => {
    let cookie = await signIn(t, 'absolute@example.test');
    for (let day = 1; day < 30; day++) {
      t.clock.advance(86_400_000);
      const res = await me(cookie);
      expect(res.statusCode, `day ${day}`).toBe(200);
      const next = setCookie(res, SESSION_COOKIE);
      if (next) cookie = `${SESSION_COOKIE}=${next.value}`;
    }
    t.clock.advance(86_400_000);
    expect((await me(cookie)).statusCode).toBe(401);
  });

  it('ends every session of a suspended user at once', async () => {
    const a = await signIn(t, 'suspend@example.test');
    expect((await me(a)).statusCode).toBe(200);
    const [user] = await t.db.ownerQuery<{ id: string }>(
      "select id from users where email = 'suspend@example.test'",
    );
    const { arrived } = await notified(t.db.database, `u:${user!.id}`);
    await t.db.ownerQuery("update users set status = 'suspended' where id = $1", [user!.id]);
    await t.db.ownerQuery('select pg_notify($1, $2)', [SESSIONS_CHANNEL, `u:${user!.id}`]);
    await arrived;
    const res = await me(a);
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toBe('This account is not active.');
  });
});

/**
 * Resolves once `payload` arrives on the sessions channel of `database` (subscribed before it returns; the
 * subscription ends when the database closes).
 */
async function notified(database: Database, payload: string): Promise<{ arrived: Promise<void> }> {
  let resolve!: () => void;
  const arrived = new Promise<void>((r) => {
    resolve = r;
  });
  await database.listen(SESSIONS_CHANNEL, (p) => {
    if (p === payload) resolve();
  });
  return { arrived };
}

describe.runIf(backend === 'postgres')('revocation across instances', () => {
  it('a session revoked on instance A is refused by instance B at once', async () => {
    const a = await buildTestApp();
    let other: Database | undefined;
    let b: TestApp | undefined;
    try {
      other = postgresDatabase(a.db.url!, 2);
      b = await buildTestApp({
        db: { ...a.db, database: other, destroy: async () => {} },
        clock: a.clock,
      });
      const cookie = await signIn(a, 'two@example.test');
      const victim = await signIn(a, 'two@example.test');
      // B has the victim's session cached as valid.
      expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie: victim } })).statusCode).toBe(200);
      const id = (await a.app.inject({ url: '/api/v1/sessions', headers: { cookie } }))
        .json()
        .data.find((s: { current: boolean }) => !s.current).id;
      // B's cache drops the entry when the notification arrives; wait for that delivery, not for time.
      const { arrived } = await notified(other, `s:${id}`);
      const res = await a.app.inject({
        method: 'DELETE',
        url: `/api/v1/sessions/${id}`,
        headers: { cookie, origin: originOf(a) },
      });
      expect(res.statusCode).toBe(204);
      await arrived;
      expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie: victim } })).statusCode).toBe(401);
      expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await b?.close();
      await a.close();
    }
  });
});
