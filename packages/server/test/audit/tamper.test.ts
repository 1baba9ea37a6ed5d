import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema/audit.js';
import { eventHash } from '../../src/modules/audit/chain.js';
import type { AuditContext } from '../../src/modules/audit/service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const ctx = (userId: string): AuditContext => ({ actor: { type: 'user', userId }, ip: '192.0.2.1' });

describe('audit log: insert-only (claim C21)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await t.app.ready();
    await t.app.db.transaction((tx) =>
      t.app.audit.record(tx, ctx('usr_io'), {
        action: 'agent.created',
        resourceType: 'agent',
        outcome: 'success',
      }),
    );
  });
  afterAll(() => t.close());

  it('refuses UPDATE, DELETE and TRUNCATE to the app role', async () => {
    for (const statement of [
      sql`update audit_events set outcome = 'failure'`,
      sql`delete from audit_events`,
      sql`truncate audit_events`,
    ]) {
      // drizzle wraps the database error; its cause is PostgreSQL's own.
      const error = await t.app.db.execute(statement).then(
        () => undefined,
        (e: Error) => e,
      );
      expect((error?.cause as Error | undefined)?.message).toBe('permission denied for table audit_events');
    }
    expect(await t.db.ownerQuery('select count(*)::int as n from audit_events')).toEqual([{ n: 1 }]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE to the owner too, even when no row matches', async () => {
    await expect(t.db.ownerQuery(`update audit_events set outcome = 'failure'`)).rejects.toThrow(
      'audit_events is insert-only: UPDATE is not allowed',
    );
    await expect(t.db.ownerQuery('delete from audit_events where false')).rejects.toThrow(
      'audit_events is insert-only: DELETE is not allowed',
    );
    await expect(t.db.ownerQuery('truncate audit_events')).rejects.toThrow(
      'audit_events is insert-only: TRUNCATE is not allowed',
    );
    expect(await t.db.ownerQuery('select count(*)::int as n from audit_events')).toEqual([{ n: 1 }]);
  });

  it('lets the app role only SELECT and INSERT on audit_events', async () => {
    const privileges = await t.db.ownerQuery<{ privilege_type: string }>(
      `select privilege_type from information_schema.role_table_grants
        where grantee = 'fleece_app' and table_name = 'audit_events' order by privilege_type`,
    );
    expect(privileges.map((p) => p.privilege_type)).toEqual(['INSERT', 'SELECT']);
  });
});

describe('audit log: tamper evidence (docs/security.md, "Audit log")', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await t.app.ready();
  });
  afterAll(() => t.close());

  const record = (userId: string, resourceId: string) =>
    t.app.db.transaction((tx) =>
      t.app.audit.record(tx, ctx(userId), {
        action: 'flow.updated',
        resourceType: 'flow',
        resourceId,
        outcome: 'success',
        metadata: { version: resourceId },
      }),
    );
  const num = (id: string) => Number(id.slice(4));

  it('detects an edited, a deleted, a swapped and an inserted event, each at the right event id', async () => {
    // Four chains, written interleaved, with one id left unused (a rolled-back change) inside the last.
    const chains = { edit: 'usr_t_edit', del: 'usr_t_del', swap: 'usr_t_swap', ins: 'usr_t_ins' };
    const ids: Record<string, string[]> = { edit: [], del: [], swap: [], ins: [] };
    for (let i = 0; i < 4; i++) {
      for (const [name, userId] of Object.entries(chains)) {
        if (name === 'ins' && i === 2) {
          await t.app.db
            .transaction(async (tx) => {
              await t.app.audit.record(tx, ctx(userId), {
                action: 'flow.deleted',
                resourceType: 'flow',
                outcome: 'success',
              });
              tx.rollback();
            })
            .catch(() => {});
        }
        ids[name]!.push(await record(userId, `flw_${name}_${i}`));
      }
    }
    expect(await t.app.audit.verify({ kind: 'all' })).toEqual({ valid: true, checked: 16 });

    await t.db.ownerQuery('ALTER TABLE audit_events DISABLE TRIGGER USER');
    // Edited: the second event's metadata.
    await t.db.ownerQuery(`update audit_events set metadata = '{"version":"forged"}' where id = $1`, [
      num(ids.edit![1]!),
    ]);
    // Deleted: the second event.
    await t.db.ownerQuery('delete from audit_events where id = $1', [num(ids.del![1]!)]);
    // Swapped: the second and third events trade places.
    const [a, b] = [num(ids.swap![1]!), num(ids.swap![2]!)];
    await t.db.ownerQuery('update audit_events set id = -1 where id = $1', [a]);
    await t.db.ownerQuery('update audit_events set id = $1 where id = $2', [a, b]);
    await t.db.ownerQuery('update audit_events set id = $1 where id = -1', [b]);
    // Inserted: a well-formed event, correctly hashed onto the second one, in the unused id before the third.
    const [second] = await t.app.db
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.id} = ${num(ids.ins![1]!)}`);
    const forged = { ...second!, id: num(ids.ins![2]!) - 1, action: 'flow.deleted', prevHash: second!.hash };
    const insertForged = () =>
      t.db.ownerQuery(
        `insert into audit_events (id, chain, occurred_at, actor_type, actor_subject, action, resource_type,
           resource_id, outcome, metadata, ip_ciphertext, prev_hash, hash)
         select $1, chain, occurred_at, actor_type, actor_subject, 'flow.deleted', resource_type, resource_id,
           outcome, metadata, ip_ciphertext, $2, $3 from audit_events where id = $4`,
        [forged.id, second!.hash, eventHash(forged), second!.id],
      );
    // The unique index on prev_hash already refuses a second successor of one event...
    await expect(insertForged()).rejects.toThrow(/audit_events_prev_hash_key/);
    // ...so the attacker drops it first.
    await t.db.ownerQuery('DROP INDEX audit_events_prev_hash_key');
    await insertForged();
    await t.db.ownerQuery('ALTER TABLE audit_events ENABLE TRIGGER USER');

    expect(await t.app.audit.verify({ kind: 'user', userId: chains.edit })).toEqual({
      valid: false,
      checked: 2,
      firstBrokenEventId: ids.edit![1],
      reason: 'hash_mismatch',
    });
    expect(await t.app.audit.verify({ kind: 'user', userId: chains.del })).toEqual({
      valid: false,
      checked: 2,
      firstBrokenEventId: ids.del![2],
      reason: 'link_mismatch',
    });
    expect(await t.app.audit.verify({ kind: 'user', userId: chains.swap })).toEqual({
      valid: false,
      checked: 2,
      firstBrokenEventId: ids.swap![1],
      reason: 'hash_mismatch',
    });
    expect(await t.app.audit.verify({ kind: 'user', userId: chains.ins })).toEqual({
      valid: false,
      checked: 4,
      firstBrokenEventId: ids.ins![2],
      reason: 'link_mismatch',
    });
    // Over every chain: the lowest broken id, here the edited event (written before the others' breaks).
    const all = await t.app.audit.verify({ kind: 'all' });
    expect(all).toMatchObject({ valid: false, firstBrokenEventId: ids.edit![1], reason: 'hash_mismatch' });
  });
});
