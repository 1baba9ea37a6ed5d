import { AuditEvent } from '@fleece/sdk/contract';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, auditSubjects } from '../../src/db/schema/audit.js';
import { decrypt, unwrapKey } from '../../src/lib/crypto.js';
import { eventHash, genesisHash } from '../../src/modules/audit/chain.js';
import {
  type AuditContext,
  AuditEventError,
  boundedMetadata,
  SYSTEM_AUDIT_CONTEXT,
} from '../../src/modules/audit/service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const userCtx = (userId: string): AuditContext => ({
  actor: { type: 'user', userId },
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (test)',
  requestId: 'req_test_0001',
});

interface StoredRow {
  id: string;
  chain: string;
  ip: string | null;
  user_agent: string | null;
  ip_ciphertext: Uint8Array | null;
}

describe('audit.record (claims C21, C23, C29)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await t.app.ready();
  });
  afterAll(() => t.close());

  const rows = (where = 'true') =>
    t.db.ownerQuery<StoredRow>(
      `select id, chain, host(ip) as ip, user_agent, ip_ciphertext from audit_events where ${where} order by id`,
    );

  it('records an event with every field of the model, hashed onto the genesis of a new chain', async () => {
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(
        tx,
        { ...userCtx('usr_rec1'), actor: { type: 'api_key', userId: 'usr_rec1', apiKeyId: 'key_1' } },
        {
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: 'key_1',
          outcome: 'success',
          metadata: { name: 'ci', scopes: ['agents:read'] },
        },
      ),
    );
    expect(id).toMatch(/^evt_\d+$/);
    const [row] = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.id} = ${Number(id.slice(4))}`);
    const subject = await t.app.audit.findSubject(t.app.db, 'usr_rec1');
    expect(subject).toMatch(/^sub_[0-9a-f]{32}$/);
    expect(row).toMatchObject({
      chain: subject,
      occurredAt: t.clock.now(),
      actorType: 'api_key',
      actorSubject: subject,
      apiKeyId: 'key_1',
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: 'key_1',
      outcome: 'success',
      metadata: { name: 'ci', scopes: ['agents:read'] },
      ip: null,
      userAgent: null,
      requestId: 'req_test_0001',
    });
    expect(row!.prevHash.equals(genesisHash(subject!))).toBe(true);
    expect(row!.hash.equals(eventHash(row!))).toBe(true);
    // Nothing names the person: no user id anywhere in the row.
    expect(JSON.stringify(row)).not.toContain('usr_rec1');
  });

  it('links each event of a chain to the hash of the one before it', async () => {
    for (const action of ['agent.created', 'agent.updated', 'agent.deleted'] as const) {
      await t.app.db.transaction((tx) =>
        t.app.audit.record(tx, userCtx('usr_link'), {
          action,
          resourceType: 'agent',
          resourceId: 'agt_1',
          outcome: 'success',
        }),
      );
    }
    const subject = await t.app.audit.findSubject(t.app.db, 'usr_link');
    const events = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.chain} = ${subject}`)
      .orderBy(auditEvents.id);
    expect(events.map((e) => e.action)).toEqual(['agent.created', 'agent.updated', 'agent.deleted']);
    expect(events[0]!.prevHash.equals(genesisHash(subject!))).toBe(true);
    expect(events[1]!.prevHash.equals(events[0]!.hash)).toBe(true);
    expect(events[2]!.prevHash.equals(events[1]!.hash)).toBe(true);
  });

  it('leaves no event when the change rolls back, and always one when it commits', async () => {
    const before = (await rows()).length;
    await expect(
      t.app.db.transaction(async (tx) => {
        await t.app.audit.record(tx, userCtx('usr_tx'), {
          action: 'agent.deleted',
          resourceType: 'agent',
          outcome: 'success',
        });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await rows()).length).toBe(before);
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(tx, userCtx('usr_tx'), {
        action: 'agent.deleted',
        resourceType: 'agent',
        outcome: 'success',
      }),
    );
    const after = await rows();
    expect(after.length).toBe(before + 1);
    expect(`evt_${after[after.length - 1]!.id}`).toBe(id);
  });

  it('keeps the IP address and user agent of a personal chain only encrypted under the subject key', async () => {
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(tx, userCtx('usr_enc'), {
        action: 'auth.login.succeeded',
        resourceType: 'session',
        outcome: 'success',
      }),
    );
    const [row] = await rows(`id = ${id.slice(4)}`);
    expect(row).toMatchObject({ ip: null, user_agent: null });
    expect(Buffer.from(row!.ip_ciphertext!).includes(Buffer.from('203.0.113.7'))).toBe(false);
    const [subject] = await t.app.db
      .select()
      .from(auditSubjects)
      .where(sql`${auditSubjects.userId} = 'usr_enc'`);
    const key = unwrapKey(t.app.config.encryption, subject!.wrappedKey, `audit_subject:${subject!.subject}`);
    expect(
      decrypt(key, Buffer.from(row!.ip_ciphertext!), `audit_event:${subject!.subject}:ip`).toString(),
    ).toBe('203.0.113.7');
  });

  it('keeps the IP address in clear (canonical inet) only on the system chain', async () => {
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(
        tx,
        { actor: { type: 'user' }, ip: '2001:db8:0:0:0:0:0:1', userAgent: 'curl/8' },
        {
          action: 'auth.login.failed',
          resourceType: 'session',
          outcome: 'failure',
          metadata: { reason: 'expired_link' },
        },
      ),
    );
    const [row] = await rows(`id = ${id.slice(4)}`);
    expect(row).toMatchObject({
      chain: 'system',
      ip: '2001:db8::1',
      user_agent: 'curl/8',
      ip_ciphertext: null,
    });
    const [stored] = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.id} = ${Number(id.slice(4))}`);
    expect(stored!.hash.equals(eventHash(stored!))).toBe(true);
  });

  it('hashes in the database exactly as chain.ts encodes, for awkward strings and numbers', async () => {
    const awkward = 'quote " backslash \\ tab \t newline \n bell \u0007 del \u007f é 中文 😀 \u2028';
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(
        tx,
        { actor: { type: 'user' }, ip: '::ffff:192.0.2.1', userAgent: awkward, requestId: 'req_awkward_01' },
        {
          action: 'security.redirect_blocked',
          resourceType: 'redirect',
          resourceId: `/path?${awkward}`,
          outcome: 'denied',
          metadata: {
            z: 1,
            a: [0.1, 1e21, -0, 9007199254740991, true, null, { nested: awkward }],
            ﬀ: 'U+FB00 sorts after the surrogate pair of the emoji key in UTF-16',
            '😀': 'emoji key',
            é: '',
          },
        },
      ),
    );
    const [row] = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.id} = ${Number(id.slice(4))}`);
    expect(row!.userAgent).toBe(awkward);
    expect(row!.ip).toBe('::ffff:192.0.2.1');
    expect(row!.hash.equals(eventHash(row!))).toBe(true);
    expect((await t.app.audit.verify({ kind: 'all' })).valid).toBe(true);
  });

  it('moves to a new subject when the cached one was forgotten elsewhere', async () => {
    const record = () =>
      t.app.db.transaction((tx) =>
        t.app.audit.record(tx, userCtx('usr_stale'), {
          action: 'agent.created',
          resourceType: 'agent',
          outcome: 'success',
        }),
      );
    await record();
    const first = await t.app.audit.findSubject(t.app.db, 'usr_stale');
    // Another instance purges the user: this instance still holds the subject's key in its cache.
    await t.db.ownerQuery(`delete from audit_subjects where user_id = 'usr_stale'`);
    const id = await record();
    const second = await t.app.audit.findSubject(t.app.db, 'usr_stale');
    expect(second).toMatch(/^sub_/);
    expect(second).not.toBe(first);
    const [row] = await rows(`id = ${id.slice(4)}`);
    expect(row!.chain).toBe(second);
    expect((await rows(`chain = '${first}'`)).length).toBe(1);
  });

  it("files an admin's action on a user in that user's chain, naming the admin only by subject", async () => {
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(
        tx,
        { actor: { type: 'admin', userId: 'usr_admin' } },
        {
          action: 'admin.user_suspended',
          resourceType: 'user',
          resourceId: 'usr_victim',
          outcome: 'success',
          subjectUserId: 'usr_victim',
        },
      ),
    );
    const [row] = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.id} = ${Number(id.slice(4))}`);
    const victim = await t.app.audit.findSubject(t.app.db, 'usr_victim');
    const admin = await t.app.audit.findSubject(t.app.db, 'usr_admin');
    expect(row).toMatchObject({ chain: victim, actorType: 'admin', actorSubject: admin, resourceId: victim });
  });

  it('records system work on the system chain with no actor subject', async () => {
    const id = await t.app.db.transaction((tx) =>
      t.app.audit.record(tx, SYSTEM_AUDIT_CONTEXT, {
        action: 'billing.payment_failed',
        resourceType: 'invoice',
        resourceId: 'in_1',
        outcome: 'failure',
      }),
    );
    const [row] = await rows(`id = ${id.slice(4)}`);
    expect(row!.chain).toBe('system');
  });

  it('refuses actions outside the catalogue and events outside their bounds', async () => {
    const record = (event: Record<string, unknown>) =>
      t.app.db.transaction((tx) =>
        t.app.audit.record(tx, userCtx('usr_bad'), {
          action: 'agent.created',
          resourceType: 'agent',
          outcome: 'success',
          ...event,
        } as never),
      );
    await expect(record({ action: 'agent.exploded' })).rejects.toThrow('Unknown audit action agent.exploded');
    await expect(record({ resourceType: 'Agent Thing' })).rejects.toThrow(AuditEventError);
    await expect(record({ outcome: 'maybe' })).rejects.toThrow('Unknown outcome maybe');
    await expect(record({ metadata: { email: 'ann@example.com' } })).rejects.toThrow(/email or IP address/);
    await expect(record({ metadata: { deviceIp: '198.51.100.4' } })).rejects.toThrow(/email or IP address/);
  });

  it('bounds metadata: at most 50 keys, strings cut to 500 characters', () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(boundedMetadata(fifty))).toHaveLength(50);
    expect(() => boundedMetadata({ ...fifty, k50: 50 })).toThrow('metadata has more than 50 keys');
    expect(() => boundedMetadata({ a: { b: fifty } })).toThrow('metadata has more than 50 keys');
    const long = boundedMetadata({ s: 'x'.repeat(2_000) }).s as string;
    expect(long).toHaveLength(500);
    expect(long.endsWith('…')).toBe(true);
    expect(boundedMetadata({ nul: 'a\0b', gone: undefined })).toEqual({ nul: 'ab' });
    expect(() => boundedMetadata({ when: new Date() })).toThrow('metadata when is not plain JSON data');
    expect(() => boundedMetadata({ n: Number.NaN })).toThrow('metadata n is not a finite number');
  });

  it('keeps 16 concurrent writers on distinct subjects and on one subject in intact chains', async () => {
    const write = (userId: string, i: number) =>
      t.app.db.transaction((tx) =>
        t.app.audit.record(tx, userCtx(userId), {
          action: 'flow.triggered',
          resourceType: 'flow',
          resourceId: `flw_${i}`,
          outcome: 'success',
        }),
      );
    const ids = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => write(`usr_par${i}`, i)),
      ...Array.from({ length: 16 }, (_, i) => write('usr_same', i)),
    ]);
    expect(new Set(ids).size).toBe(32);
    const verified = await t.app.audit.verify({ kind: 'all' });
    expect(verified.valid).toBe(true);
    expect((await t.app.audit.verify({ kind: 'user', userId: 'usr_same' })).checked).toBe(16);
  });

  it('anonymises a forgotten user: events stay, verifiable, but unlinkable and their IP unreadable', async () => {
    await t.app.db.transaction((tx) =>
      t.app.audit.record(tx, userCtx('usr_gone'), {
        action: 'consent.granted',
        resourceType: 'consent',
        outcome: 'success',
      }),
    );
    const subject = await t.app.audit.findSubject(t.app.db, 'usr_gone');
    const before = await t.db.ownerQuery(`select * from audit_events where chain = $1`, [subject]);
    await t.app.db.transaction(async (tx) => {
      await t.app.audit.record(tx, SYSTEM_AUDIT_CONTEXT, {
        action: 'account.deleted',
        resourceType: 'user',
        resourceId: 'usr_gone',
        outcome: 'success',
        subjectUserId: 'usr_gone',
      });
      expect(await t.app.audit.forgetSubject(tx, 'usr_gone')).toBe(true);
    });
    expect(await t.app.audit.findSubject(t.app.db, 'usr_gone')).toBeUndefined();
    const after = await t.db.ownerQuery(`select * from audit_events where chain = $1 order by id`, [subject]);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.map((r) => r.action)).toEqual(['consent.granted', 'account.deleted']);
    expect(JSON.stringify(after)).not.toContain('usr_gone');
    const page = await t.app.audit.list({ kind: 'all' }, { limit: 10, chain: subject } as never);
    expect(page.data.map((e) => AuditEvent.parse(e))).toHaveLength(2);
    expect(page.data.every((e) => e.ip === null && e.userAgent === null)).toBe(true);
    const verified = await t.app.audit.verify({ kind: 'all' });
    expect(verified.valid).toBe(true);
    // A new user id never gets the old subject back.
    expect(await t.app.audit.forgetSubject(t.app.db, 'usr_gone')).toBe(false);
  });
});
