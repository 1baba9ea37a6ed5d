import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, rowsOf } from '../../src/db/client.js';
import { withScope, withUser } from '../../src/db/tenant.js';
import { generateApiKey } from '../../src/modules/api-keys/format.js';
import { createKey, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens } from '../helpers/identity.js';

/** Tables that hold no tenant's rows, or are scoped another way (documented in docs/security.md). */
const NOT_TENANT_TABLES = new Set(['audit_events', 'audit_subjects', 'audit_throttle']);
/** The tenant tables the set-up below gives user A rows in. */
const SEEDED = [
  'account_limits',
  'api_keys',
  'authorization_codes',
  'billing_customers',
  'device_authorizations',
  'identities',
  'refresh_tokens',
  'sessions',
  'usage_counters',
  'users',
];

async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  return rowsOf<T>(await db.execute(query));
}

describe('row-level security (claim C26)', () => {
  let t: TestApp;
  let tenantTables: string[];
  let a: Awaited<ReturnType<typeof userOnPlan>>;
  let b: Awaited<ReturnType<typeof userOnPlan>>;
  let aKeyHash: string;

  beforeAll(async () => {
    t = await buildTestApp();
    // Every table with a user_id column, plus users itself: what the policies must cover.
    tenantTables = (
      await t.db.ownerQuery<{ table_name: string }>(
        `select distinct table_name from information_schema.columns
          where table_schema = current_schema() and column_name = 'user_id'
         union select 'users' order by 1`,
      )
    )
      .map((r) => r.table_name)
      .filter((name) => !NOT_TENANT_TABLES.has(name));
    a = await userOnPlan(t, 'a@example.test', 'enterprise');
    b = await userOnPlan(t, 'b@example.test', 'pro');
    // Give A rows in the tenant tables that the flows below do not fill.
    const { key } = await createKey(t, a);
    aKeyHash = generateApiKey().hash;
    await deviceTokens(t, a.cookie); // a CLI session, a refresh token, a device authorization
    await withUser(t.app.db, a.userId, (tx) => t.app.entitlements.consumeExecution(tx, a.userId));
    await t.db.ownerQuery(
      `insert into account_limits (user_id, limits, updated_at) values ($1, '{"apiKeys": 30}', now())`,
      [a.userId],
    );
    await t.db.ownerQuery(
      `insert into identities (id, user_id, provider, subject, email, created_at, updated_at)
       values ('idn_rls', $1, 'github', '42', 'a@example.test', now(), now())`,
      [a.userId],
    );
    await t.db.ownerQuery(
      `insert into authorization_codes (id, code_hash, user_id, client_id, redirect_uri, code_challenge, created_at, expires_at)
       values ('acd_rls', $1, $2, 'fleece-cli', 'http://127.0.0.1:1/cb', 'x', now(), now())`,
      [aKeyHash, a.userId],
    );
    await t.db.ownerQuery(
      `insert into billing_customers (user_id, stripe_customer_id, created_at, updated_at)
       values ($1, 'cus_rlsA', now(), now())`,
      [a.userId],
    );
    expect(key).toMatch(/^flc_/);
  });
  afterAll(() => t.close());

  it('serves queries as fleece_app: not the owner, not a superuser, no BYPASSRLS', async () => {
    const [me] = await rows<{ user: string }>(t.app.db, sql`select current_user as user`);
    expect(me!.user).toBe('fleece_app');
    const [role] = await t.db.ownerQuery<{ rolsuper: boolean; rolbypassrls: boolean }>(
      "select rolsuper, rolbypassrls from pg_roles where rolname = 'fleece_app'",
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
    const owned = await t.db.ownerQuery(
      "select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = 'fleece_app'",
    );
    expect(owned).toEqual([]);
  });

  it('enables and forces row-level security, with policies, on every table that has a user_id', async () => {
    expect(tenantTables).toEqual(expect.arrayContaining(SEEDED));
    const state = await t.db.ownerQuery<{
      relname: string;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
      policies: number;
    }>(
      `select c.relname, c.relrowsecurity, c.relforcerowsecurity,
              (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
         from pg_class c where c.relname = any($1) and c.relnamespace = current_schema()::regnamespace
        order by 1`,
      [tenantTables],
    );
    expect(state).toHaveLength(tenantTables.length);
    for (const table of state) {
      expect(table, table.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
      expect(table.policies, table.relname).toBeGreaterThan(0);
    }
  });

  it("shows B nothing of A's, in any tenant table, even without a WHERE on the owner", async () => {
    for (const table of tenantTables) {
      const owner = table === 'users' ? 'id' : 'user_id';
      const [all] = await t.db.ownerQuery<{ n: number }>(
        `select count(*)::int as n from ${table} where ${owner} = $1`,
        [a.userId],
      );
      const seenByA = await withUser(t.app.db, a.userId, (tx) =>
        rows<{ n: number }>(tx, sql`select count(*)::int as n from ${sql.identifier(table)}`),
      );
      const asB = await withUser(t.app.db, b.userId, (tx) =>
        rows<Record<string, unknown>>(
          tx,
          sql`select * from ${sql.identifier(table)} where ${sql.identifier(owner)} = ${a.userId}`,
        ),
      );
      expect(asB, table).toEqual([]);
      // A sees exactly their own rows, and no more.
      expect(seenByA[0]!.n, table).toBe(all!.n);
    }
    // The tables seeded above really hold A's rows, so the emptiness above means something.
    for (const table of SEEDED) {
      const owner = table === 'users' ? 'id' : 'user_id';
      const [all] = await t.db.ownerQuery<{ n: number }>(
        `select count(*)::int as n from ${table} where ${owner} = $1`,
        [a.userId],
      );
      expect(all!.n, table).toBeGreaterThan(0);
    }
  });

  it('shows nothing at all to a query outside any scope', async () => {
    for (const table of tenantTables) {
      const [count] = await rows<{ n: number }>(
        t.app.db,
        sql`select count(*)::int as n from ${sql.identifier(table)}`,
      );
      expect(count!.n, table).toBe(0);
    }
  });

  it('shows a credential scope only the row that credential names', async () => {
    const found = await withScope(t.app.db, { credential: aKeyHash }, (tx) =>
      rows<{ id: string }>(tx, sql`select id from authorization_codes`),
    );
    expect(found).toEqual([{ id: 'acd_rls' }]);
    const keys = await withScope(t.app.db, { credential: aKeyHash }, (tx) =>
      rows<{ id: string }>(tx, sql`select id from api_keys union all select id from sessions`),
    );
    expect(keys).toEqual([]);
    const emailScope = await withScope(t.app.db, { email: 'b@example.test' }, (tx) =>
      rows<{ email: string }>(tx, sql`select email from users`),
    );
    expect(emailScope).toEqual([{ email: 'b@example.test' }]);
    // A verified Stripe webhook names a customer: that customer's billing row only, nothing else of A's.
    const customer = await withScope(t.app.db, { credential: 'cus_rlsA' }, (tx) =>
      rows<{ user_id: string }>(
        tx,
        sql`select user_id from billing_customers union all select user_id from api_keys`,
      ),
    );
    expect(customer).toEqual([{ user_id: a.userId }]);
  });

  it('refuses to write a row into another tenant', async () => {
    const write = withUser(t.app.db, b.userId, (tx) =>
      tx.execute(
        sql`insert into usage_counters (user_id, metric, period, count) values (${a.userId}, 'executions', '2026-01', 99)`,
      ),
    );
    const error = (await write.catch((e: unknown) => e)) as Error & { cause?: Error };
    // drizzle wraps the driver's error; PostgreSQL's own message is the cause.
    expect(error.cause?.message).toMatch(/violates row-level security policy for table "usage_counters"/);
    const moved = await withUser(t.app.db, b.userId, (tx) =>
      tx.execute(sql`update api_keys set user_id = ${b.userId} where user_id = ${a.userId}`),
    );
    expect((moved as unknown as { rowCount?: number; affectedRows?: number }).rowCount ?? 0).toBe(0);
  });
});
