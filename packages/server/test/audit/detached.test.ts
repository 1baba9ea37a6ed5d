import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { postgresDatabase } from '../../src/db/client.js';
import type { AuditContext, AuditEventInput } from '../../src/modules/audit/service.js';
import { backend, buildTestApp, LogCapture, type TestApp, testConfig } from '../helpers/app.js';

const anonymous: AuditContext = {
  actor: { type: 'user' },
  ip: '198.51.100.23',
  userAgent: 'bot/1.0',
  requestId: 'req_rl_000001',
};
const rateLimited: AuditEventInput = {
  action: 'security.rate_limit_exceeded',
  resourceType: 'route',
  resourceId: 'POST /api/auth/magic-link',
  outcome: 'denied',
  metadata: { limit: 5, windowSeconds: 60 },
};

describe('audit.recordDetached (claim C25)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await t.app.ready();
  });
  afterAll(() => t.close());

  const count = async (action: string) =>
    (
      await t.db.ownerQuery<{ n: number }>('select count(*)::int as n from audit_events where action = $1', [
        action,
      ])
    )[0]!.n;

  it('records a security event outside any transaction, on the system chain for an anonymous caller', async () => {
    const id = await t.app.audit.recordDetached(anonymous, rateLimited);
    expect(id).toMatch(/^evt_\d+$/);
    const [row] = await t.db.ownerQuery(
      'select chain, host(ip) as ip, user_agent, outcome from audit_events where id = $1',
      [Number(id!.slice(4))],
    );
    expect(row).toEqual({ chain: 'system', ip: '198.51.100.23', user_agent: 'bot/1.0', outcome: 'denied' });
  });

  it('throttles to one event per key per window, however many arrive at once', async () => {
    const key = 'rate_limit:ip:198.51.100.23:magic-link';
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.app.audit.recordDetached(anonymous, rateLimited, { throttleKey: key }),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    t.clock.advance(59_999);
    expect(await t.app.audit.recordDetached(anonymous, rateLimited, { throttleKey: key })).toBeNull();
    t.clock.advance(1);
    expect(await t.app.audit.recordDetached(anonymous, rateLimited, { throttleKey: key })).toMatch(/^evt_/);
    // Another key has its own window; a custom window is honoured.
    const other = { throttleKey: 'rate_limit:ip:198.51.100.99:magic-link', windowMs: 5_000 };
    expect(await t.app.audit.recordDetached(anonymous, rateLimited, other)).toMatch(/^evt_/);
    t.clock.advance(5_000);
    expect(await t.app.audit.recordDetached(anonymous, rateLimited, other)).toMatch(/^evt_/);
    expect(await count('security.rate_limit_exceeded')).toBe(5);
  });

  it('keeps throttle keys only as SHA-256 hashes', async () => {
    await t.app.audit.recordDetached(anonymous, rateLimited, { throttleKey: 'denied:203.0.113.200' });
    const rows = await t.db.ownerQuery<{ key_hash: Uint8Array }>('select key_hash from audit_throttle');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Buffer.from(row.key_hash)).toHaveLength(32);
    expect(
      JSON.stringify(
        await t.db.ownerQuery('select encode(key_hash, $1) as k from audit_throttle', ['escape']),
      ),
    ).not.toContain('203.0.113.200');
  });

  it('never throws into the caller: a failure is logged and answers null', async () => {
    const result = await t.app.audit.recordDetached(anonymous, {
      ...rateLimited,
      action: 'security.made_up' as never,
    });
    expect(result).toBeNull();
    const line = t.logs.records().find((r) => r.msg === 'audit event could not be recorded');
    expect(line).toMatchObject({ level: 50, action: 'security.made_up' });
  });

  it.runIf(backend === 'postgres')('shares throttle windows between instances', async () => {
    const other = postgresDatabase(t.db.url!, 2);
    const b = await buildApp(testConfig(), { database: other, clock: t.clock, logStream: new LogCapture() });
    try {
      const key = 'cross_tenant:usr_x:agt_1';
      expect(await t.app.audit.recordDetached(anonymous, rateLimited, { throttleKey: key })).toMatch(/^evt_/);
      expect(await b.audit.recordDetached(anonymous, rateLimited, { throttleKey: key })).toBeNull();
    } finally {
      await b.close();
    }
  });
});
