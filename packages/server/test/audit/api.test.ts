import { AuditEventPage, AuditVerifyResponse, Problem } from '@fleece/sdk/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditContext, AuditEventInput } from '../../src/modules/audit/service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { as, installTestAuth } from '../helpers/auth.js';

const user = (userId: string, ip = '203.0.113.10'): AuditContext => ({
  actor: { type: 'user', userId },
  ip,
  userAgent: 'fleece-cli/1.0',
  requestId: 'req_test_0001',
});

describe('GET /api/v1/audit-events and /verify (claims C21–C23)', () => {
  let t: TestApp;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await buildTestApp();
    installTestAuth(t.app);
    await t.app.ready();
    const record = async (name: string, ctx: AuditContext, event: AuditEventInput) => {
      ids[name] = await t.app.db.transaction((tx) => t.app.audit.record(tx, ctx, event));
      t.clock.advance(1_000);
    };
    await record('a1', user('usr_a'), {
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: 'key_1',
      outcome: 'success',
    });
    await record('b1', user('usr_b'), {
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: 'key_9',
      outcome: 'success',
    });
    await record('a2', user('usr_a'), {
      action: 'api_key.revoked',
      resourceType: 'api_key',
      resourceId: 'key_1',
      outcome: 'success',
    });
    await record('a3', user('usr_a'), {
      action: 'agent.created',
      resourceType: 'agent',
      resourceId: 'agt_1',
      outcome: 'success',
    });
    await record('a4', user('usr_a'), {
      action: 'agent.executed',
      resourceType: 'agent',
      resourceId: 'agt_1',
      outcome: 'failure',
    });
    await record(
      'a5',
      { actor: { type: 'admin', userId: 'usr_root' }, ip: '198.51.100.9' },
      {
        action: 'admin.user_suspended',
        resourceType: 'user',
        resourceId: 'usr_a',
        outcome: 'success',
        subjectUserId: 'usr_a',
      },
    );
    // usr_a's first read records an audit.accessed event, which later reads list too.
    await t.app.inject({ url: '/api/v1/audit-events', headers: as('usr_a') });
    ids.accessed = (await t.app.audit.list({ kind: 'user', userId: 'usr_a' }, { limit: 1 })).data[0]!.id;
  });
  afterAll(() => t.close());

  const get = (url: string, headers: Record<string, string> = as('usr_a')) => t.app.inject({ url, headers });
  const page = async (url: string, headers?: Record<string, string>) => {
    const res = await get(url, headers);
    expect(res.statusCode).toBe(200);
    return AuditEventPage.parse(res.json());
  };
  const actions = (p: AuditEventPage) => p.data.map((e) => e.action);

  it('answers 401 without credentials', async () => {
    const res = await t.app.inject('/api/v1/audit-events');
    expect(res.statusCode).toBe(401);
    expect(Problem.parse(res.json()).code).toBe('unauthenticated');
  });

  it("lists the caller's own events newest first, and never another user's", async () => {
    const own = await page('/api/v1/audit-events?action=a');
    expect(own.data.map((e) => e.id)).toEqual([ids.accessed, ids.a5, ids.a4, ids.a3, ids.a2, ids.a1]);
    expect(own.nextCursor).toBeNull();
    const other = await page('/api/v1/audit-events?action=a', as('usr_b'));
    expect(other.data.map((e) => e.id)).toEqual([ids.b1]);
    expect(JSON.stringify(own)).not.toContain('usr_a');
  });

  it('shows the caller their own IP and user agent, but not those of an admin acting on them', async () => {
    const own = await page('/api/v1/audit-events?action=a');
    const mine = own.data.find((e) => e.id === ids.a1)!;
    expect(mine).toMatchObject({
      ip: '203.0.113.10',
      userAgent: 'fleece-cli/1.0',
      requestId: 'req_test_0001',
    });
    const suspended = own.data.find((e) => e.id === ids.a5)!;
    expect(suspended).toMatchObject({ action: 'admin.user_suspended', ip: null, userAgent: null });
    expect(suspended.actor.type).toBe('admin');
    expect(suspended.resourceId).toBe(suspended.chain);
    const admin = await page(`/api/v1/admin/audit-events?action=admin.`, as('usr_root', { admin: true }));
    expect(admin.data.find((e) => e.id === ids.a5)).toMatchObject({ ip: '198.51.100.9' });
  });

  it('filters by action prefix, resource, outcome and time', async () => {
    expect(actions(await page('/api/v1/audit-events?action=api_key.'))).toEqual([
      'api_key.revoked',
      'api_key.created',
    ]);
    expect(actions(await page('/api/v1/audit-events?action=api_key.created'))).toEqual(['api_key.created']);
    // `_` is not a wildcard: the prefix is matched literally.
    expect(actions(await page('/api/v1/audit-events?action=api_ke_'))).toEqual([]);
    expect(actions(await page('/api/v1/audit-events?resourceType=agent&resourceId=agt_1'))).toEqual([
      'agent.executed',
      'agent.created',
    ]);
    expect(actions(await page('/api/v1/audit-events?outcome=failure'))).toEqual(['agent.executed']);
    expect(actions(await page('/api/v1/audit-events?resourceType=user&resourceId=usr_a'))).toEqual([
      'admin.user_suspended',
    ]);
    // Events were recorded one second apart from 2026-01-01T00:00:00Z: a1 at 0 s, a2 at 2 s, a3 at 3 s.
    const window = await page(
      '/api/v1/audit-events?since=2026-01-01T00:00:02.000Z&until=2026-01-01T00:00:04.000Z',
    );
    expect(window.data.map((e) => e.id)).toEqual([ids.a3, ids.a2]);
  });

  it('pages with an opaque cursor, with no event twice and none left out', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: AuditEventPage = await page(
        `/api/v1/audit-events?action=a&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...p.data.map((e) => e.id));
      cursor = p.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([ids.accessed, ids.a5, ids.a4, ids.a3, ids.a2, ids.a1]);
  });

  it('answers 400 naming the field for an unknown filter, a bad cursor, a bad value, or since after until', async () => {
    const problem = async (url: string) => {
      const res = await get(url);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      return Problem.parse(res.json());
    };
    expect(await problem('/api/v1/audit-events?userId=usr_b')).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'query.userId', message: 'unknown field' }],
    });
    expect(await problem('/api/v1/audit-events?cursor=not-a-cursor')).toMatchObject({
      code: 'invalid_cursor',
      errors: [{ path: 'query.cursor', message: 'not a cursor this API issued' }],
    });
    expect(
      await problem(`/api/v1/audit-events?cursor=${Buffer.from('a1:0').toString('base64url')}`),
    ).toMatchObject({
      code: 'invalid_cursor',
    });
    expect(
      await problem('/api/v1/audit-events?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z'),
    ).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'query.since', message: 'since must not be later than until' }],
    });
    expect((await problem('/api/v1/audit-events?outcome=maybe')).errors?.[0]?.path).toBe('query.outcome');
    expect((await problem('/api/v1/audit-events?since=yesterday')).errors?.[0]?.path).toBe('query.since');
    expect((await problem('/api/v1/audit-events?limit=0')).errors?.[0]?.path).toBe('query.limit');
    // Admin-only filters are unknown on the caller's own list.
    expect((await problem('/api/v1/audit-events?chain=system')).errors?.[0]).toEqual({
      path: 'query.chain',
      message: 'unknown field',
    });
    expect((await problem('/api/v1/audit-events/verify?deep=1')).errors?.[0]?.path).toBe('query.deep');
  });

  it("verifies the caller's chain", async () => {
    const res = await get('/api/v1/audit-events/verify');
    expect(res.statusCode).toBe(200);
    const body = AuditVerifyResponse.parse(res.json());
    expect(body.valid).toBe(true);
    expect(body.checked).toBeGreaterThanOrEqual(5);
  });

  it('keeps the admin routes for admins, over every chain', async () => {
    const denied = await get('/api/v1/admin/audit-events', as('usr_a'));
    expect(denied.statusCode).toBe(403);
    expect(Problem.parse(denied.json()).code).toBe('forbidden');
    const all = await page(
      '/api/v1/admin/audit-events?action=api_key.created',
      as('usr_root', { admin: true }),
    );
    expect(all.data.map((e) => e.id)).toEqual([ids.b1, ids.a1]);
    const chain = all.data.find((e) => e.id === ids.b1)!.chain;
    const onlyB = await page(
      `/api/v1/admin/audit-events?chain=${chain}&action=api_key`,
      as('usr_root', { admin: true }),
    );
    expect(onlyB.data.map((e) => e.id)).toEqual([ids.b1]);
    const rootSubject = (
      await page('/api/v1/admin/audit-events?action=admin.', as('usr_root', { admin: true }))
    ).data[0]!.actor.subject;
    const byRoot = await page(
      `/api/v1/admin/audit-events?actorSubject=${rootSubject}&action=admin.`,
      as('usr_root', { admin: true }),
    );
    expect(byRoot.data.map((e) => e.id)).toEqual([ids.a5]);
    const verify = await get('/api/v1/admin/audit-events/verify', as('usr_root', { admin: true }));
    expect(AuditVerifyResponse.parse(verify.json())).toMatchObject({ valid: true });
  });

  it('records audit.accessed for each read, at most once per reader, view and minute', async () => {
    const accesses = async () =>
      (await page('/api/v1/audit-events?action=audit.accessed&limit=100', as('usr_c'))).data;
    await get('/api/v1/audit-events', as('usr_c'));
    await get('/api/v1/audit-events', as('usr_c'));
    await get('/api/v1/audit-events/verify', as('usr_c'));
    // The two lists above and the reads inside accesses() share one list window; verify has its own.
    const first = await accesses();
    expect(first.map((e) => e.metadata)).toEqual([
      { view: 'verify', scope: 'own' },
      { view: 'list', scope: 'own' },
    ]);
    t.clock.advance(60_000);
    await get('/api/v1/audit-events', as('usr_c'));
    expect((await accesses()).length).toBe(3);
    expect(first[1]).toMatchObject({
      actor: { type: 'user' },
      resourceType: 'audit_log',
      outcome: 'success',
    });
  });

  it('names an API key actor and its key id', async () => {
    await get('/api/v1/audit-events/verify', as('usr_k', { apiKeyId: 'key_k1' }));
    const p = await page('/api/v1/audit-events?action=audit.accessed', as('usr_k', { apiKeyId: 'key_k1' }));
    expect(p.data[0]!.actor).toMatchObject({ type: 'api_key', apiKeyId: 'key_k1' });
  });
});
