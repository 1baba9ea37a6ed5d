import { createHash } from 'node:crypto';
import {
  ApiKeyPage,
  CreatedApiKey,
  DEFAULT_API_KEY_EXPIRY_DAYS,
  DEFAULT_API_KEY_SCOPES,
  MeResponse,
} from '@fleece/sdk/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Database, postgresDatabase } from '../../src/db/client.js';
import { INVALIDATION_CHANNEL } from '../../src/db/invalidation.js';
import { generateApiKey } from '../../src/modules/api-keys/format.js';
import { LastUsedTracker } from '../../src/modules/api-keys/last-used.js';
import { asSession, bearer, createKey, postKey, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

describe('API keys (claims C5, C9, C10, C27)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const me = (key: string) => t.app.inject({ url: '/api/v1/me', headers: bearer(key) });

  it('shows the key once: in the create response only, never in lists, logs, audit or the database', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const res = await postKey(t, ada, { name: 'deploy', scopes: ['read', 'write'], expiresIn: 30 });
    expect(res.statusCode).toBe(201);
    const created = CreatedApiKey.parse(res.json());
    expect(created).toMatchObject({
      name: 'deploy',
      scopes: ['read', 'write'],
      status: 'active',
      start: created.key.slice(4, 12),
      expiresAt: '2026-01-31T00:00:00.000Z',
      lastUsedAt: null,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(created.id).toMatch(/^key_[0-9a-z]{24}$/);
    // It authenticates…
    const used = await me(created.key);
    expect(used.statusCode).toBe(200);
    expect(used.json().user.id).toBe(ada.userId);
    // …and appears nowhere else.
    const list = await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie: ada.cookie } });
    expect(ApiKeyPage.parse(list.json()).data).toEqual([expect.objectContaining({ id: created.id })]);
    expect(list.body).not.toContain(created.key);
    expect(list.body).not.toContain(created.key.slice(4));
    await t.app.inject({ url: `/api/v1/me?api_key=${created.key}`, headers: bearer(created.key) });
    await t.app.apiKeys.lastUsed.flush();
    expect(t.logs.text).not.toContain(created.key.slice(4));
    const events = await auditEvents(t);
    expect(events.map((e) => e.action)).toContain('api_key.created');
    expect(JSON.stringify(events)).not.toContain(created.key.slice(4));
    const [row] = await t.db.ownerQuery<Record<string, unknown>>('select * from api_keys');
    expect(row!.key_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(4));
  });

  it('refuses API keys on the Free plan with 403 plan_limit_reached, upgrade: true', async () => {
    const free = await userOnPlan(t, 'free@example.test', 'free');
    const res = await postKey(t, free);
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      code: 'plan_limit_reached',
      upgrade: true,
      limit: 'apiKeys',
      max: 0,
      plan: 'free',
    });
    const denied = (await auditEvents(t)).filter((e) => e.action === 'api_key.created');
    expect(denied).toEqual([expect.objectContaining({ outcome: 'denied' })]);
  });

  it('holds at most 5 keys on Pro and 10 on Business; a revoked key frees its place', async () => {
    const pro = await userOnPlan(t, 'pro@example.test', 'pro');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createKey(t, pro, { name: `k${i}` })).id);
    const sixth = await postKey(t, pro, { name: 'k5' });
    expect(sixth.statusCode).toBe(403);
    expect(sixth.json()).toMatchObject({ code: 'plan_limit_reached', limit: 'apiKeys', max: 5, plan: 'pro' });
    await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${ids[0]}`, headers: asSession(t, pro) });
    expect((await postKey(t, pro, { name: 'k5' })).statusCode).toBe(201);

    const business = await userOnPlan(t, 'biz@example.test', 'business');
    for (let i = 0; i < 10; i++) await createKey(t, business, { name: `b${i}` });
    expect((await postKey(t, business)).json()).toMatchObject({ code: 'plan_limit_reached', max: 10 });
  });

  it('never exceeds the limit under parallel creates: 10 at once with 24 of 25 held on Enterprise', async () => {
    const ent = await userOnPlan(t, 'ent@example.test', 'enterprise');
    // 24 keys held, inserted as the owner to keep the test fast.
    for (let i = 0; i < 24; i++) {
      const { hash, start } = generateApiKey();
      await t.db.ownerQuery(
        `insert into api_keys (id, user_id, name, key_hash, start, scopes, created_at)
         values ($1, $2, $3, $4, $5, '{read}', now())`,
        [`key_held${String(i).padStart(20, '0')}`, ent.userId, `held ${i}`, hash, start],
      );
    }
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postKey(t, ent, { name: `race ${i}` })),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 403, 403, 403, 403, 403, 403, 403, 403, 403]);
    for (const r of results.filter((r) => r.statusCode === 403)) {
      expect(r.json()).toMatchObject({ code: 'plan_limit_reached', upgrade: true, max: 25 });
    }
    const [{ n }] = (await t.db.ownerQuery<{ n: number }>(
      'select count(*)::int as n from api_keys where user_id = $1 and revoked_at is null',
      [ent.userId],
    )) as [{ n: number }];
    expect(n).toBe(25);
  });

  it('refuses a key with a bad checksum before any database lookup', async () => {
    const { key } = await createKey(t, await userOnPlan(t, 'sum@example.test'));
    const tampered = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
    const spy = vi.spyOn(t.app.db, 'transaction');
    const res = await me(tampered);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'invalid_api_key' });
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(spy).not.toHaveBeenCalled();
    // A well-formed key that does not exist costs one lookup, and is the same 401.
    const unknown = await me(generateApiKey().key);
    expect(unknown.json().code).toBe('invalid_api_key');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('expires: 401 api_key_expired (not invalid_api_key), recorded as api_key.expired_rejected', async () => {
    const user = await userOnPlan(t, 'exp@example.test');
    const { key, id } = await createKey(t, user, { name: 'short', expiresIn: 1 });
    expect((await me(key)).statusCode).toBe(200);
    t.clock.advance(86_400_000);
    for (let i = 0; i < 3; i++) {
      const res = await me(key);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'api_key_expired', title: 'API Key Expired' });
    }
    const rejected = (await auditEvents(t)).filter((e) => e.action === 'api_key.expired_rejected');
    expect(rejected).toEqual([expect.objectContaining({ outcome: 'denied', resource_id: id })]);
    const list = await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie: user.cookie } });
    expect(list.json().data[0]).toMatchObject({ id, status: 'expired' });
  });

  it('least privilege by default: a key that names neither scopes nor expiry may only read, for 30 days; expiresIn: null never expires', async () => {
    const user = await userOnPlan(t, 'defaults@example.test', 'pro');
    const plain = await postKey(t, user, { name: 'defaults' });
    expect(plain.statusCode, plain.body).toBe(201);
    // The contract's one default, which `fleece keys create` and the settings page use too.
    expect(DEFAULT_API_KEY_SCOPES).toEqual(['read']);
    expect(DEFAULT_API_KEY_EXPIRY_DAYS).toBe(30);
    expect(plain.json()).toMatchObject({ scopes: ['read'], expiresAt: '2026-01-31T00:00:00.000Z' });
    const created = (await auditEvents(t)).find((e) => e.action === 'api_key.created');
    expect(created?.metadata).toEqual({ scopes: ['read'], expiresAt: '2026-01-31T00:00:00.000Z' });
    const forever = await postKey(t, user, { name: 'forever', scopes: ['read', 'export'], expiresIn: null });
    expect(forever.statusCode, forever.body).toBe(201);
    expect(forever.json()).toMatchObject({ scopes: ['read', 'export'], expiresAt: null });
    // A read-only default key cannot run an agent.
    const run = await t.app.inject({
      method: 'POST',
      url: '/api/v1/agents/agt_000000000000000000000000/execute',
      headers: { ...bearer(plain.json().key), 'content-type': 'application/json' },
      payload: { input: 'x' },
    });
    expect(run.json()).toMatchObject({ code: 'insufficient_scope' });
  });

  it('takes expiresIn as days (1–365) or an absolute time in the future, naming the field otherwise', async () => {
    const user = await userOnPlan(t, 'when@example.test', 'enterprise');
    const at = await postKey(t, user, { name: 'abs', expiresIn: '2026-03-01T12:00:00Z' });
    expect(at.json().expiresAt).toBe('2026-03-01T12:00:00.000Z');
    const year = await postKey(t, user, { name: 'year', expiresIn: 365 });
    expect(year.json().expiresAt).toBe('2027-01-01T00:00:00.000Z');
    for (const expiresIn of [0, 366, 1.5, '2025-12-31T23:59:59Z', 'tomorrow', -3]) {
      const res = await postKey(t, user, { name: 'bad', expiresIn });
      expect(res.statusCode, JSON.stringify(expiresIn)).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain('body.expiresIn');
    }
    for (const [body, path] of [
      [{ name: '' }, 'body.name'],
      [{ name: 'x', scopes: ['root'] }, 'body.scopes.0'],
      [{ name: 'x', scopes: ['read', 'read'] }, 'body.scopes'],
      [{ name: 'x', extra: 1 }, 'body.extra'],
    ] as const) {
      const res = await postKey(t, user, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });

  it('enforces scopes: 403 insufficient_scope outside them; keys cannot create keys', async () => {
    const user = await userOnPlan(t, 'scope@example.test');
    const { key } = await createKey(t, user, { name: 'read-only', scopes: ['read'] });
    expect((await me(key)).statusCode).toBe(200);
    const write = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/sessions',
      headers: bearer(key),
    });
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({ code: 'insufficient_scope', scope: 'write' });
    expect(write.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="write"');
    const audit = await t.app.inject({ url: '/api/v1/audit-events', headers: bearer(key) });
    expect(audit.json()).toMatchObject({ code: 'insufficient_scope', scope: 'audit:read' });

    const { key: full } = await createKey(t, user, { name: 'all' });
    const keyCreatesKey = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(full),
      payload: { name: 'child' },
    });
    expect(keyCreatesKey.statusCode).toBe(403);
    expect(keyCreatesKey.json().code).toBe('forbidden');
    expect((await t.app.inject({ url: '/api/v1/audit-events', headers: bearer(full) })).statusCode).toBe(200);
  });

  it('revokes at once and idempotently; another user’s key answers exactly like a missing one', async () => {
    const owner = await userOnPlan(t, 'owner@example.test');
    const other = await userOnPlan(t, 'other@example.test');
    const { key, id } = await createKey(t, owner);
    expect((await me(key)).statusCode).toBe(200);
    const foreign = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: asSession(t, other),
    });
    const missing = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/api-keys/key_missing00000000000000000',
      headers: asSession(t, other),
    });
    expect(foreign.statusCode).toBe(404);
    expect({ ...foreign.json(), requestId: 'x' }).toEqual({ ...missing.json(), requestId: 'x' });
    expect((await me(key)).statusCode).toBe(200);

    const first = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: asSession(t, owner),
    });
    expect(first.statusCode).toBe(204);
    expect((await me(key)).json().code).toBe('invalid_api_key');
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: asSession(t, owner),
    });
    expect(again.statusCode).toBe(204);
    const revoked = (await auditEvents(t)).filter((e) => e.action === 'api_key.revoked');
    expect(revoked).toEqual([expect.objectContaining({ resource_id: id, outcome: 'success' })]);
    const list = await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie: owner.cookie } });
    expect(list.json().data).toEqual([]);
  });

  it('maps a key to exactly one user: its own, with the api_key principal', async () => {
    const a = await userOnPlan(t, 'a@example.test');
    const b = await userOnPlan(t, 'b@example.test');
    const { key: ka, id } = await createKey(t, a);
    const { key: kb } = await createKey(t, b);
    expect((await me(ka)).json().user.id).toBe(a.userId);
    expect((await me(kb)).json().user.id).toBe(b.userId);
    // Audit events made through a key name the key.
    await t.app.inject({ url: '/api/v1/audit-events', headers: bearer(ka) });
    const [row] = await t.db.ownerQuery<{ actor_type: string; api_key_id: string }>(
      "select actor_type, api_key_id from audit_events where action = 'audit.accessed'",
    );
    expect(row).toEqual({ actor_type: 'api_key', api_key_id: id });
  });

  it('records last use at most once a minute, from the client address, without a write per request', async () => {
    const user = await userOnPlan(t, 'used@example.test');
    const { key, id } = await createKey(t, user);
    const lastUsed = async () =>
      (
        await t.db.ownerQuery<{ last_used_at: Date | null; last_used_ip: string | null }>(
          'select last_used_at, last_used_ip from api_keys where id = $1',
          [id],
        )
      )[0]!;
    const update = vi.spyOn(t.app.db, 'transaction');
    for (let i = 0; i < 20; i++) {
      await t.app.inject({ url: '/api/v1/me', headers: bearer(key), remoteAddress: '198.51.100.4' });
    }
    // The key lookup and the /me view (loaded again if the key's creation notice arrives after it): reads only.
    expect(update.mock.calls.length).toBeLessThanOrEqual(3);
    await t.app.apiKeys.lastUsed.flush();
    expect(await lastUsed()).toEqual({
      last_used_at: new Date('2026-01-01T00:00:00.000Z'),
      last_used_ip: '198.51.100.4',
    });
    // Within the minute: nothing is written.
    t.clock.advance(30_000);
    await t.app.inject({ url: '/api/v1/me', headers: bearer(key), remoteAddress: '198.51.100.5' });
    await t.app.apiKeys.lastUsed.flush();
    expect((await lastUsed()).last_used_at).toEqual(new Date('2026-01-01T00:00:00.000Z'));
    // A minute after the last write, the next use is written.
    t.clock.advance(31_000);
    await t.app.inject({ url: '/api/v1/me', headers: bearer(key), remoteAddress: '198.51.100.6' });
    await t.app.apiKeys.lastUsed.flush();
    expect(await lastUsed()).toEqual({
      last_used_at: new Date('2026-01-01T00:01:01.000Z'),
      last_used_ip: '198.51.100.6',
    });
    const listed = await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie: user.cookie } });
    expect(listed.json().data[0]).toMatchObject({
      lastUsedAt: '2026-01-01T00:01:01.000Z',
      lastUsedIp: '198.51.100.6',
    });
  });

  it('writes last use once a minute across instances: the database guard stops a second writer', async () => {
    const user = await userOnPlan(t, 'guard@example.test');
    const { id } = await createKey(t, user);
    const other = new LastUsedTracker({
      db: t.app.db,
      clock: t.clock,
      onError: (e) => {
        throw e;
      },
    });
    t.app.apiKeys.lastUsed.touch(id, user.userId, '192.0.2.1');
    await t.app.apiKeys.lastUsed.flush();
    t.clock.advance(20_000);
    other.touch(id, user.userId, '192.0.2.2');
    await other.flush();
    const [row] = await t.db.ownerQuery<{ last_used_at: Date; last_used_ip: string }>(
      'select last_used_at, last_used_ip from api_keys where id = $1',
      [id],
    );
    expect(row).toEqual({ last_used_at: new Date('2026-01-01T00:00:00.000Z'), last_used_ip: '192.0.2.1' });
  });

  it('pages the list newest first, and refuses a cursor it did not issue', async () => {
    const user = await userOnPlan(t, 'pages@example.test', 'business');
    for (let i = 0; i < 3; i++) {
      await createKey(t, user, { name: `k${i}` });
      t.clock.advance(1_000);
    }
    const first = (
      await t.app.inject({ url: '/api/v1/api-keys?limit=2', headers: { cookie: user.cookie } })
    ).json();
    expect(first.data.map((k: { name: string }) => k.name)).toEqual(['k2', 'k1']);
    const second = (
      await t.app.inject({
        url: `/api/v1/api-keys?limit=2&cursor=${first.nextCursor}`,
        headers: { cookie: user.cookie },
      })
    ).json();
    expect(second).toMatchObject({ data: [expect.objectContaining({ name: 'k0' })], nextCursor: null });
    const bad = await t.app.inject({ url: '/api/v1/api-keys?cursor=nope', headers: { cookie: user.cookie } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'query.cursor', message: 'not a cursor this API issued' }]);
  });

  it('shows keys held against the plan in /api/v1/me usage, at once after a create', async () => {
    const user = await userOnPlan(t, 'usage@example.test');
    const before = MeResponse.parse(
      (await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).json(),
    );
    expect(before.usage.apiKeys).toEqual({ used: 0, limit: 5 });
    const { key } = await createKey(t, user);
    const after = (await me(key)).json();
    expect(after.usage.apiKeys).toEqual({ used: 1, limit: 5 });
    expect(after.usage.apiRequests).toEqual({
      minute: { used: 1, limit: 60 },
      day: { used: 1, limit: 5000 },
    });
  });
});

/** Resolves once `payload` arrives on the invalidation channel of `database`. */
async function notified(database: Database, payload: string): Promise<{ arrived: Promise<void> }> {
  let resolve!: () => void;
  const arrived = new Promise<void>((r) => {
    resolve = r;
  });
  await database.listen(INVALIDATION_CHANNEL, (p) => {
    if (p === payload) resolve();
  });
  return { arrived };
}

describe.runIf(backend === 'postgres')('API key revocation across instances', () => {
  it('a key revoked on instance A is refused by instance B at once', async () => {
    const a = await buildTestApp();
    let other: Database | undefined;
    let b: TestApp | undefined;
    try {
      other = postgresDatabase(a.db.url!, 2);
      b = await buildTestApp({ db: { ...a.db, database: other, destroy: async () => {} }, clock: a.clock });
      const user = await userOnPlan(a, 'two@example.test');
      const { key, id } = await createKey(a, user);
      // B has the key cached as valid.
      expect((await b.app.inject({ url: '/api/v1/me', headers: bearer(key) })).statusCode).toBe(200);
      const { arrived } = await notified(other, `k:${id}`);
      const res = await a.app.inject({
        method: 'DELETE',
        url: `/api/v1/api-keys/${id}`,
        headers: asSession(a, user),
      });
      expect(res.statusCode).toBe(204);
      await arrived;
      const refused = await b.app.inject({ url: '/api/v1/me', headers: bearer(key) });
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('invalid_api_key');
    } finally {
      await b?.close();
      await a.close();
    }
  });
});
