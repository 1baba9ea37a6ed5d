import { createRequire } from 'node:module';
import { buildApp, loadConfig } from '@fleece/server';
import type { FastifyInstance } from 'fastify';
import { benchAdminUrl, Lines, withFreshDatabase } from './lib/database.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** Executions (each with {@link EVENTS} stored events) and conversations (each with two messages) per account. */
const EXECUTIONS = Number(process.env.PURGE_BENCH_EXECUTIONS ?? 20_000);
const EVENTS = 3;
const CONVERSATIONS = 2_000;

interface PgClient {
  connect(): Promise<void>;
  query(text: string, params?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}
const pg = createRequire(new URL('../packages/server/package.json', import.meta.url))('pg') as {
  Client: new (options: { connectionString: string }) => PgClient;
};

/** Runs SQL as the database owner (outside the app role and its row-level security). */
type Owner = (text: string, params?: unknown[]) => Promise<void>;

/** Gives account `id` its rows: executions with events, conversations with messages, an agent, a key. */
async function seed(owner: Owner, id: string): Promise<void> {
  const now = new Date().toISOString();
  await owner(
    `insert into users (id, email, email_verified, plan, created_at, updated_at)
     values ($1, $1 || '@example.test', true, 'enterprise', $2, $2)`,
    [id, now],
  );
  await owner(
    `insert into executions (id, user_id, status, model, provider, key_id, input, created_at)
     select $1 || '_exe_' || g, $1, 'succeeded', 'mock', 'mock', 'k1', '\\x00', $2::timestamptz
     from generate_series(1, ${EXECUTIONS}) g`,
    [id, now],
  );
  await owner(
    `insert into execution_events (execution_id, seq, user_id, type, key_id, data, created_at)
     select $1 || '_exe_' || g, s, $1, 'delta', 'k1', '\\x00', $2::timestamptz
     from generate_series(1, ${EXECUTIONS}) g, generate_series(1, ${EVENTS}) s`,
    [id, now],
  );
  await owner(
    `insert into conversations (id, user_id, model, created_at, updated_at)
     select $1 || '_cnv_' || g, $1, 'mock', $2::timestamptz, $2::timestamptz from generate_series(1, ${CONVERSATIONS}) g`,
    [id, now],
  );
  await owner(
    `insert into chat_messages (conversation_id, seq, user_id, role, key_id, content, created_at)
     select $1 || '_cnv_' || g, s, $1, case s when 1 then 'user' else 'assistant' end, 'k1', '\\x00', $2::timestamptz
     from generate_series(1, ${CONVERSATIONS}) g, generate_series(1, 2) s`,
    [id, now],
  );
}

/**
 * Seeds two identical accounts, deletes one with a single cascading `DELETE FROM users` as the owner (the
 * baseline: the least work the database can do), and purges the other through the account purge (batches
 * of 500 rows in their own transactions, then the audit record, the subject mapping and the user row), in
 * ms; both on `app`'s database.
 */
async function measure(app: FastifyInstance, owner: Owner): Promise<{ baseline: number; purge: number }> {
  await seed(owner, 'usr_benchbaseline');
  await seed(owner, 'usr_benchpurge');
  const past = new Date(Date.now() - 1_000).toISOString();
  await owner(`update users set status = 'pending_deletion' where id = 'usr_benchpurge'`);
  await owner(
    `insert into account_deletions (id, user_id, requested_at, purge_after) values ('del_bench', 'usr_benchpurge', $1::timestamptz - interval '7 days', $1)`,
    [past],
  );
  let started = performance.now();
  await owner(`delete from users where id = 'usr_benchbaseline'`);
  const baseline = performance.now() - started;
  started = performance.now();
  const outcome = await app.accountDeletion.purge('del_bench');
  const purge = performance.now() - started;
  if (outcome !== 'purged') throw new Error(`the purge answered ${outcome}`);
  return { baseline, purge };
}

function row(label: string, m: { baseline: number; purge: number }): BenchRow {
  return {
    metric: `account purge, ${EXECUTIONS} executions × ${EVENTS} events + ${CONVERSATIONS} conversations (${label})`,
    value: m.purge,
    baselineName: 'one cascading DELETE of an identical account',
    baseline: m.baseline,
    ratio: m.purge / m.baseline,
    unit: 'ms',
  };
}

/**
 * The account purge (src/modules/deletion/service.ts) on the embedded database and, when `BENCH_DATABASE_URL`
 * or `TEST_DATABASE_URL` names a superuser URL, on PostgreSQL: its time against one cascading delete of the
 * same data. The purge trades speed for short transactions (no long locks on a large account) and a
 * restartable run; the ratio shows what that costs. `PURGE_BENCH_EXECUTIONS` changes the size (default
 * 20,000).
 */
const benchmark: Benchmark = {
  name: 'purge',
  async run() {
    const rows: BenchRow[] = [];
    const quiet = { LOG_LEVEL: 'warn', LOG_FORMAT: 'json', FLEECE_WORKERS: 'off' };
    {
      const app = await buildApp(loadConfig({ ...quiet, FLEECE_DATA_DIR: 'memory://' }), {
        logStream: new Lines(),
      });
      try {
        const connection = app.database.connection;
        if (connection.kind !== 'pglite') throw new Error('expected the embedded database');
        const owner: Owner = async (text, params = []) => {
          await connection.pglite.transaction(async (tx) => {
            await tx.exec('RESET ROLE');
            await tx.query(text, params);
            await tx.exec('SET ROLE fleece_app');
          });
        };
        rows.push(row('PGlite', await measure(app, owner)));
      } finally {
        await app.close();
      }
    }
    const adminUrl = benchAdminUrl();
    if (adminUrl) {
      await withFreshDatabase(adminUrl, async (url) => {
        const app = await buildApp(loadConfig({ ...quiet, DATABASE_URL: url }), { logStream: new Lines() });
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          rows.push(
            row(
              'PostgreSQL',
              await measure(app, (text, params) => client.query(text, params).then(() => {})),
            ),
          );
        } finally {
          await client.end();
          await app.close();
        }
      });
    }
    return { rows };
  },
};

export default benchmark;
