import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { buildApp, type Database, loadConfig } from '@fleece/server';
import autocannon from 'autocannon';
import { APP_ROLE, openPglite, pgliteDatabase, postgresDatabase } from '../packages/server/src/db/client.js';
import { migratePgliteInstance, migratePostgres } from '../packages/server/src/db/migrate.js';
import { DURATION_S, type LoadResult, load } from './lib/autocannon.js';
import { startBareFastify } from './lib/bare.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** Collects the app's log lines so the dev outbox's magic link can be read back. */
class Lines {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

// The bench reaches PostgreSQL through the server package's own driver (the root has no `pg`).
const serverRequire = createRequire(new URL('../packages/server/package.json', import.meta.url));
interface PgClient {
  connect(): Promise<void>;
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const pg = serverRequire('pg') as { Client: new (options: { connectionString: string }) => PgClient };
type PGliteInstance = Awaited<ReturnType<typeof openPglite>>['pglite'];

/** Writes (rows inserted, updated or deleted) and committed transactions, as PostgreSQL counts them. */
interface Activity {
  writes: number;
  commits: number;
}

const ACTIVITY = `select (tup_inserted + tup_updated + tup_deleted)::bigint as writes, xact_commit::bigint as commits
  from pg_stat_database where datname = current_database()`;

/** The database under test: how to open an app handle on it, run owner SQL, and read its activity. */
interface Backend {
  label: string;
  /** A fresh app-role handle (the app closes it). */
  open(): Promise<Database>;
  owner(sql: string, params?: unknown[]): Promise<void>;
  /** The counters, once every backend that served the app has flushed its statistics. */
  activity(): Promise<Activity>;
  destroy(): Promise<void>;
}

async function pgliteBackend(): Promise<Backend> {
  const { pglite: instance } = await openPglite('memory://');
  await migratePgliteInstance(instance);
  const asOwner = <T>(fn: (tx: Parameters<Parameters<PGliteInstance['transaction']>[0]>[0]) => Promise<T>) =>
    instance.transaction(async (tx) => {
      await tx.exec('RESET ROLE');
      const result = await fn(tx);
      await tx.exec(`SET ROLE ${APP_ROLE}`);
      return result;
    });
  return {
    label: 'embedded PGlite',
    // One in-process database: the app handle must not close it between the phases.
    open: async () => ({ ...(await pgliteDatabase(instance)), close: async () => {} }),
    owner: (sql, params = []) => asOwner((tx) => tx.query(sql, params)).then(() => undefined),
    // The single backend flushes its statistics at the end of the transaction after this request.
    activity: async () => {
      await asOwner((tx) => tx.query('select pg_stat_force_next_flush()'));
      await asOwner((tx) => tx.query('select 1'));
      const { rows } = await asOwner((tx) => tx.query<{ writes: number; commits: number }>(ACTIVITY));
      return { writes: Number(rows[0]!.writes), commits: Number(rows[0]!.commits) };
    },
    destroy: () => instance.close(),
  };
}

async function postgresBackend(adminUrl: string): Promise<Backend> {
  const name = `fleece_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migratePostgres(url.toString());
  const owner = async (sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    label: 'PostgreSQL',
    open: async () => postgresDatabase(url.toString(), 10),
    owner: (sql, params) => owner(sql, params).then(() => undefined),
    // Read after the app closed its pool: a backend's statistics are flushed when it exits.
    activity: async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { rows } = await owner(ACTIVITY);
      return { writes: Number(rows[0]!.writes), commits: Number(rows[0]!.commits) };
    },
    destroy: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
  };
}

const ENV = {
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  FLEECE_DATA_DIR: 'memory://',
  // The default limit stays on for the session path; high enough not to refuse the load.
  FLEECE_RATE_LIMIT_PER_MINUTE: '100000000',
  // The write count is about the request path: background jobs (pg-boss's own upkeep, the lease sweep, the daily
  // data job) write on their own schedule whatever the traffic, and run in `fleece-server worker` when scaled out.
  FLEECE_WORKERS: 'off',
};

/**
 * Set-up on its own app instance: a user signed in by magic link (the session cookie), on Enterprise with
 * API limits overridden high enough for the load (rate limiting stays on: every request is counted), and
 * an API key created through the API.
 */
async function setUp(backend: Backend): Promise<{ cookie: string; key: string }> {
  const logs = new Lines();
  const app = await buildApp(loadConfig(ENV), { database: await backend.open(), logStream: logs });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const origin = new URL(app.config.publicUrl).origin;
    const json = { 'content-type': 'application/json' };
    const asked = await fetch(`${url}/api/auth/magic-link`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'bench@example.test' }),
    });
    if (asked.status !== 202) throw new Error(`magic link answered ${asked.status}`);
    const line = logs.lines.map((l) => JSON.parse(l) as { link?: string }).find((r) => r.link);
    const token = new URL(line!.link!).searchParams.get('token')!;
    const verified = await fetch(`${url}/api/auth/magic-link/verify`, {
      method: 'POST',
      headers: { ...json, origin },
      body: JSON.stringify({ token }),
    });
    const cookie = verified.headers.get('set-cookie')?.split(';')[0];
    if (verified.status !== 200 || !cookie) throw new Error(`sign-in answered ${verified.status}`);
    await backend.owner("update users set plan = 'enterprise' where email = 'bench@example.test'");
    await backend.owner(
      `insert into account_limits (user_id, limits, updated_at)
       select id, '{"apiBurstPerMinute": 100000000, "apiPerDay": 1000000000}', now() from users
        where email = 'bench@example.test'`,
    );
    const created = await fetch(`${url}/api/v1/api-keys`, {
      method: 'POST',
      headers: { ...json, origin, cookie },
      body: JSON.stringify({ name: 'bench' }),
    });
    if (created.status !== 201)
      throw new Error(`key creation answered ${created.status}: ${await created.text()}`);
    const { key } = (await created.json()) as { key: string };
    return { cookie, key };
  } finally {
    await app.close();
  }
}

/** One second of load, unmeasured, so the JIT has compiled the path before it is timed. @returns requests. */
async function warmUp(url: string, headers: Record<string, string>): Promise<number> {
  const result = await autocannon({ url, connections: 50, duration: 1, headers });
  return result.requests.total;
}

/** Loads `GET /api/v1/me` with each credential on a fresh app instance, counting database activity. */
async function measure(backend: Backend) {
  const { cookie, key } = await setUp(backend);
  const app = await buildApp(loadConfig(ENV), { database: await backend.open(), logStream: new Lines() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  app.log.level = 'warn';
  let results: { key: LoadResult; session: LoadResult };
  const before = await backend.activity();
  let warmUpRequests = 0;
  try {
    warmUpRequests += await warmUp(`${url}/api/v1/me`, { authorization: `Bearer ${key}` });
    warmUpRequests += await warmUp(`${url}/api/v1/me`, { cookie });
    const check = (label: string, r: LoadResult) => {
      if (r.non2xx || r.errors) throw new Error(`${label}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      return r;
    };
    results = {
      key: check('API key', await load(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } })),
      session: check('session', await load(`${url}/api/v1/me`, { headers: { cookie } })),
    };
  } finally {
    await app.close();
  }
  const after = await backend.activity();
  return {
    ...results,
    warmUpRequests,
    writes: after.writes - before.writes,
    commits: after.commits - before.commits,
  };
}

/**
 * `GET /api/v1/me` authenticated three ways, in one run: with an API key (checksum, cached key state, the
 * per-plan rate limits on every request, the cached `/me` view), with a session cookie (HS256 JWT, cached
 * session, the default rate limit), and a bare Fastify route as the baseline; on the embedded database and,
 * when `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` names a superuser URL, on PostgreSQL. Each credential gets one
 * second of unmeasured warm-up first (the same path is then JIT-compiled for both). Targets: the API-key
 * path at least 0.4× bare Fastify's throughput with p99 under 20 ms at 50 connections, and no database write
 * per request: the rows written over each backend's whole load are reported (last use is recorded at most
 * once a minute per key).
 */
const benchmark: Benchmark = {
  name: 'auth',
  async run() {
    const bare = await startBareFastify();
    const rows: BenchRow[] = [];
    try {
      const add = async (backend: Backend) => {
        try {
          // The baseline is measured right before each backend's loads, under the same machine load.
          const baseline = await load(bare.url);
          const m = await measure(backend);
          const requests =
            m.warmUpRequests +
            Math.round((m.key.requestsPerSecond + m.session.requestsPerSecond) * DURATION_S);
          rows.push(
            {
              metric: `GET /api/v1/me, API key + rate limits, ${backend.label} (50 connections)`,
              unit: 'req/s',
              value: m.key.requestsPerSecond,
              baselineName: 'bare Fastify',
              baseline: baseline.requestsPerSecond,
              ratio: m.key.requestsPerSecond / baseline.requestsPerSecond,
              target: 'ratio ≥ 0.4',
              met: m.key.requestsPerSecond / baseline.requestsPerSecond >= 0.4,
            },
            {
              metric: `GET /api/v1/me p99, API key, ${backend.label}`,
              unit: 'ms',
              value: m.key.p99,
              baselineName: 'bare Fastify',
              baseline: baseline.p99,
              ratio: m.key.p99 / Math.max(baseline.p99, 1),
              target: 'p99 < 20 ms',
              met: m.key.p99 < 20,
            },
            {
              metric: `GET /api/v1/me, session cookie, ${backend.label} (50 connections)`,
              unit: 'req/s',
              value: m.session.requestsPerSecond,
              baselineName: 'bare Fastify',
              baseline: baseline.requestsPerSecond,
              ratio: m.session.requestsPerSecond / baseline.requestsPerSecond,
            },
            {
              metric: `GET /api/v1/me p99, session cookie, ${backend.label}`,
              unit: 'ms',
              value: m.session.p99,
              baselineName: 'bare Fastify',
              baseline: baseline.p99,
              ratio: m.session.p99 / Math.max(baseline.p99, 1),
            },
            {
              metric: `rows written during warm-up and both loads (~${requests} requests), ${backend.label}; ${m.commits} transactions`,
              unit: 'rows',
              value: m.writes,
              baselineName: 'requests',
              baseline: requests,
              ratio: m.writes / Math.max(requests, 1),
              target: 'no write per request',
              met: m.writes < 10,
            },
          );
        } finally {
          await backend.destroy();
        }
      };
      await add(await pgliteBackend());
      const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
      if (adminUrl) await add(await postgresBackend(adminUrl));
      return { rows };
    } finally {
      await bare.app.close();
    }
  },
};

export default benchmark;
