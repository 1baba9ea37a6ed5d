import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, postgresDatabase } from '../../src/db/client.js';
import { PURGE_STEPS } from '../../src/modules/deletion/service.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens, requestMagicToken, signIn } from '../helpers/identity.js';
import { runJobs } from '../helpers/jobs.js';

const DAY = 86_400_000;

/** Every base table of the database, every schema but PostgreSQL's own, as the owner sees them. */
async function allTables(t: TestApp): Promise<{ schema: string; table: string }[]> {
  return t.db.ownerQuery(
    `select table_schema as schema, table_name as "table" from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
      order by 1, 2`,
  );
}

/** Tables of the public schema with a `user_id` column: the tables a user owns rows in. */
async function ownedTables(t: TestApp): Promise<string[]> {
  const rows = await t.db.ownerQuery<{ table: string }>(
    `select c.table_name as "table" from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
      where c.table_schema = 'public' and c.column_name = 'user_id' and t.table_type = 'BASE TABLE'
      order by 1`,
  );
  return rows.map((r) => r.table);
}

/** Rows of `table` owned by `userId`. */
async function ownedRows(t: TestApp, table: string, userId: string): Promise<number> {
  const [row] = await t.db.ownerQuery<{ n: number }>(
    `select count(*)::int as n from public."${table}" where user_id = $1`,
    [userId],
  );
  return row!.n;
}

/**
 * Every (schema.table, needle) pair where some row of the table, as text (every column: text, json,
 * arrays, timestamps…), contains the needle, compared without regard to case.
 */
async function scan(t: TestApp, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { schema, table } of await allTables(t)) {
    for (const needle of needles) {
      const [row] = await t.db.ownerQuery<{ n: number }>(
        `select count(*)::int as n from "${schema}"."${table}" r where strpos(lower(r::text), lower($1)) > 0`,
        [needle],
      );
      if (row!.n > 0) found.push(`${schema}.${table} ∋ ${needle}`);
    }
  }
  return found;
}

/** The secrets' hashes (`*_hash` text columns) of the rows `userId` owns, plus the magic links of `email`. */
async function secretHashes(t: TestApp, userId: string, email: string): Promise<string[]> {
  const columns = await t.db.ownerQuery<{ table: string; column: string }>(
    `select table_name as "table", column_name as "column" from information_schema.columns
      where table_schema = 'public' and column_name like '%\\_hash' and data_type = 'text'
        and table_name in (select table_name from information_schema.columns
                            where table_schema = 'public' and column_name = 'user_id')`,
  );
  const hashes: string[] = [];
  for (const { table, column } of columns) {
    const rows = await t.db.ownerQuery<{ h: string | null }>(
      `select "${column}" as h from public."${table}" where user_id = $1`,
      [userId],
    );
    hashes.push(...rows.map((r) => r.h).filter((h): h is string => !!h));
  }
  const links = await t.db.ownerQuery<{ h: string }>(
    'select token_hash as h from magic_link_tokens where lower(email) = lower($1)',
    [email],
  );
  return [...hashes, ...links.map((r) => r.h)];
}

/**
 * Gives `user` data of every kind: identities, browser and CLI sessions (refresh tokens, a device
 * authorization), an unused magic link, an authorization code, an API key, an agent, executions with their
 * events, a conversation, consents, usage, plan overrides, a billing customer, a webhook delivery, and the
 * audit events all of that records.
 */
async function seedEverything(t: TestApp, user: TestUser): Promise<void> {
  const now = t.clock.now();
  await t.db.ownerQuery(
    `insert into identities (id, user_id, provider, subject, email, email_verified, created_at, updated_at)
     values ($1, $2, 'github', $3, $4, true, $5, $5)`,
    [`idn_${randomBytes(8).toString('hex')}`, user.userId, randomBytes(6).toString('hex'), user.email, now],
  );
  await deviceTokens(t, user.cookie);
  await requestMagicToken(t, user.email);
  await t.db.ownerQuery(
    `insert into authorization_codes (id, code_hash, user_id, client_id, redirect_uri, code_challenge, created_at, expires_at)
     values ($1, $2, $3, 'fleece-cli', 'http://127.0.0.1:5555/callback', $4, $5, $5)`,
    [
      `acd_${randomBytes(8).toString('hex')}`,
      createHash('sha256').update(randomBytes(32)).digest('hex'),
      user.userId,
      randomBytes(32).toString('base64url'),
      now,
    ],
  );
  await createKey(t, user, { name: 'ci' });
  const consent = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/account/consents/product_email',
    headers: asSession(t, user),
    payload: { granted: true },
  });
  expect(consent.statusCode, consent.body).toBe(200);
  const agent = await t.app.inject({
    method: 'POST',
    url: '/api/v1/agents',
    headers: asSession(t, user),
    payload: { name: `Agent of ${user.email}`, instructions: `Answer ${user.email} briefly.` },
  });
  expect(agent.statusCode, agent.body).toBe(201);
  const agentId = agent.json().id as string;
  let executionId = '';
  for (let i = 0; i < 2; i++) {
    const run = await t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agentId}/execute`,
      headers: asSession(t, user),
      payload: { input: `Hello from ${user.email}` },
    });
    expect(run.statusCode, run.body).toBe(201);
    executionId = run.json().id;
  }
  const chat = await t.app.inject({
    method: 'POST',
    url: '/api/v1/chat',
    headers: asSession(t, user),
    payload: { message: `I am ${user.email}` },
  });
  expect(chat.statusCode, chat.body).toBe(200);
  await t.db.ownerQuery(
    `insert into account_limits (user_id, limits, updated_at) values ($1, '{"apiPerDay": 1000}', $2)`,
    [user.userId, now],
  );
  // A flow with a schedule, through the API when the flows routes are there, else as a row.
  const flow = await t.app.inject({
    method: 'POST',
    url: '/api/v1/flows',
    headers: asSession(t, user),
    payload: {
      name: `Flow of ${user.email}`,
      steps: [{ name: 'one', agentId, input: `For ${user.email}: {{input}}` }],
      schedule: '0 6 * * 1',
      scheduleInput: `Weekly for ${user.email}`,
    },
  });
  if (flow.statusCode === 404 && (await ownedTables(t)).includes('flows')) {
    await t.db.ownerQuery(
      `insert into flows (id, user_id, name, steps, schedule, created_at, updated_at)
       values ($1, $2, $3, $4, '0 6 * * 1', $5, $5)`,
      [
        `flw_${randomBytes(8).toString('hex')}`,
        user.userId,
        `Flow of ${user.email}`,
        JSON.stringify([{ name: 'one', agentId, input: `For ${user.email}: {{input}}` }]),
        now,
      ],
    );
  } else {
    expect(flow.statusCode, flow.body).toBe(201);
  }
  // A job of another feature that names the user (as webhook deliveries do), not due for a long time.
  await t.app.jobs.send('data.daily', { userId: user.userId, to: user.email }, { startAfter: 365 * 86_400 });
  const tables = new Set(await ownedTables(t));
  if (tables.has('billing_customers')) {
    await t.db.ownerQuery(
      `insert into billing_customers (user_id, stripe_customer_id, stripe_subscription_id, subscription_status,
       created_at, updated_at) values ($1, $2, $3, 'active', $4, $4)`,
      [user.userId, `cus_${randomBytes(6).toString('hex')}`, `sub_${randomBytes(6).toString('hex')}`, now],
    );
  }
  if (tables.has('webhook_deliveries')) {
    await t.db.ownerQuery(
      `insert into webhook_deliveries (id, user_id, event_id, event_type, execution_id, url, attempt, outcome,
       status, duration_ms, attempted_at) values ($1, $2, $3, 'execution.succeeded', $4, $5, 1, 'succeeded', 200, 12, $6)`,
      [
        `whd_${randomBytes(8).toString('hex')}`,
        user.userId,
        `whe_${randomBytes(8).toString('hex')}`,
        executionId,
        `https://hooks.example.test/${user.userId}`,
        now,
      ],
    );
  }
}

describe('account purge', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  /** Requests deletion with a fresh sign-in; returns the deletion id. */
  const requestDeletion = async (user: TestUser): Promise<string> => {
    const cookie = await signIn(t, user.email);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/account/deletion',
      headers: asSession(t, { ...user, cookie }),
    });
    expect(res.statusCode, res.body).toBe(202);
    const [row] = await t.db.ownerQuery<{ id: string }>(
      'select id from account_deletions where user_id = $1',
      [user.userId],
    );
    return row!.id;
  };

  it('removes every row the user owns from every table; a scan of every table and column finds no id, email or secret hash; the audit chain still verifies', async () => {
    t = await buildTestApp();
    const victim = await userOnPlan(t, 'victim@example.test', 'pro');
    const bystander = await userOnPlan(t, 'bystander@example.test', 'pro');
    await seedEverything(t, victim);
    await seedEverything(t, bystander);

    // The seed covers every table with a user_id: a table added later without seeding fails here first.
    const tables = await ownedTables(t);
    const missing: string[] = [];
    for (const table of tables) {
      if (table === 'account_deletions') continue; // created by the request below
      if ((await ownedRows(t, table, victim.userId)) === 0) missing.push(table);
    }
    expect(missing, 'tables the seed gives the victim no row in').toEqual([]);

    const needles = [victim.userId, victim.email, ...(await secretHashes(t, victim.userId, victim.email))];
    expect(needles.length).toBeGreaterThan(6);
    const [subject] = await t.db.ownerQuery<{ subject: string }>(
      'select subject from audit_subjects where user_id = $1',
      [victim.userId],
    );
    const eventsBefore = await t.db.ownerQuery<{ n: number }>(
      'select count(*)::int as n from audit_events where chain = $1',
      [subject!.subject],
    );

    await requestDeletion(victim);
    t.clock.advance(7 * DAY + 1_000);
    const ran = await runJobs(t.app, 'account.purge', { includeDelayed: true });
    expect(ran.map((j) => [j.outcome, j.error])).toEqual([['completed', undefined]]);

    for (const table of tables) {
      expect(await ownedRows(t, table, victim.userId), table).toBe(0);
      if (table !== 'account_deletions')
        expect(await ownedRows(t, table, bystander.userId), table).toBeGreaterThan(0);
    }
    expect(await scan(t, needles)).toEqual([]);

    // The events stay, anonymised: the chain is there (longer by the deletion events), its subject unlinked.
    const after = await t.db.ownerQuery<{ action: string; actor_type: string }>(
      'select action, actor_type from audit_events where chain = $1 order by id',
      [subject!.subject],
    );
    expect(after.length).toBeGreaterThan(eventsBefore[0]!.n);
    expect(after.at(-1)).toEqual({ action: 'account.deleted', actor_type: 'system' });
    expect(
      await t.db.ownerQuery('select 1 from audit_subjects where subject = $1', [subject!.subject]),
    ).toEqual([]);
    expect(await t.app.audit.verify({ kind: 'all' })).toEqual({ valid: true, checked: expect.any(Number) });
    // The bystander still works.
    const again = await signIn(t, bystander.email);
    expect((await t.app.inject({ url: '/api/v1/agents', headers: { cookie: again } })).statusCode).toBe(200);
  });

  it('resumes a purge that failed after its first step and completes it', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await seedEverything(t, ada);
    await requestDeletion(ada);
    t.clock.advance(7 * DAY);

    const purge = t.app.accountDeletion.purge.bind(t.app.accountDeletion);
    const steps: string[] = [];
    t.app.accountDeletion.purge = (id) =>
      purge(id, {
        afterStep: (step) => {
          steps.push(step);
          if (step === 'executions') throw new Error('simulated crash after deleting executions');
        },
      });
    // The job is due (in the database's time too); its retry after the failure waits (retryDelay).
    await t.db.ownerQuery("update pgboss.job set start_after = now() where name = 'account.purge'");
    const first = await runJobs(t.app, 'account.purge');
    expect(first.map((j) => [j.outcome, j.error])).toEqual([
      ['failed', 'simulated crash after deleting executions'],
    ]);
    expect(steps).toEqual(['start', 'billing', 'executions']);
    // Half-way: executions gone, the rest still there, and no longer cancellable.
    expect(await ownedRows(t, 'executions', ada.userId)).toBe(0);
    expect(await ownedRows(t, 'conversations', ada.userId)).toBe(1);
    expect(await ownedRows(t, 'api_keys', ada.userId)).toBe(1);
    const [started] = await t.db.ownerQuery<{ purge_started_at: Date | null }>(
      'select purge_started_at from account_deletions where user_id = $1',
      [ada.userId],
    );
    expect(started!.purge_started_at).not.toBeNull();
    await expect(
      t.app.accountDeletion.cancel({ actor: { type: 'user', userId: ada.userId } }, ada.userId),
    ).rejects.toMatchObject({ code: 'deletion_in_progress' });

    // The next run (the job's retry, or the daily sweep after a restart) starts over and completes.
    t.app.accountDeletion.purge = purge;
    const second = await runJobs(t.app, 'account.purge', { includeDelayed: true });
    expect(second.map((j) => j.outcome)).toEqual(['completed']);
    for (const table of await ownedTables(t)) expect(await ownedRows(t, table, ada.userId), table).toBe(0);
    expect(await t.db.ownerQuery('select 1 from users where id = $1', [ada.userId])).toEqual([]);
    const deleted = await t.db.ownerQuery("select 1 from audit_events where action = 'account.deleted'");
    expect(deleted).toHaveLength(1);
    expect(await t.app.audit.verify({ kind: 'all' })).toMatchObject({ valid: true });
  });

  it('purges overdue deletions from the daily job when their own job was lost', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'free');
    await requestDeletion(ada);
    await t.db.ownerQuery("delete from pgboss.job where name = 'account.purge'");
    t.clock.advance(7 * DAY + 1);
    // What the cron schedule sends every day at 03:17 UTC.
    await t.app.jobs.send('data.daily', {});
    const ran = await runJobs(t.app, undefined, { includeDelayed: true });
    expect(ran.map((j) => [j.name, j.outcome])).toEqual([
      ['data.daily', 'completed'],
      ['account.purge', 'completed'],
    ]);
    expect(await t.db.ownerQuery('select 1 from users where id = $1', [ada.userId])).toEqual([]);
  });
});

describe('account purge: steps', () => {
  it('purge steps are the documented ones, in order', () => {
    expect(PURGE_STEPS).toEqual(['start', 'billing', 'executions', 'conversations', 'account']);
  });
});

describe.runIf(backend === 'postgres')('account deletion across instances', () => {
  it('a deletion requested on instance A ends the sessions and keys instance B has cached, at once', async () => {
    const a = await buildTestApp();
    let other: Database | undefined;
    let b: TestApp | undefined;
    try {
      other = postgresDatabase(a.db.url!, 2);
      b = await buildTestApp({ db: { ...a.db, database: other, destroy: async () => {} }, clock: a.clock });
      const ada = await userOnPlan(a, 'ada@example.test', 'pro');
      const { key } = await createKey(a, ada);
      const browser = await signIn(a, ada.email);
      expect((await b.app.inject({ url: '/api/v1/me', headers: bearer(key) })).statusCode).toBe(200);
      expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie: browser } })).statusCode).toBe(200);
      let resolve!: () => void;
      const arrived = new Promise<void>((r) => {
        resolve = r;
      });
      await other.listen('fleece_invalidate', (p) => {
        if (p === `u:${ada.userId}`) resolve();
      });
      const res = await a.app.inject({
        method: 'POST',
        url: '/api/v1/account/deletion',
        headers: asSession(a, ada),
      });
      expect(res.statusCode).toBe(202);
      await arrived;
      expect((await b.app.inject({ url: '/api/v1/me', headers: bearer(key) })).statusCode).toBe(401);
      expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie: browser } })).statusCode).toBe(401);
    } finally {
      await b?.close();
      await a.close();
    }
  });
});
