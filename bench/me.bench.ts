import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { buildApp, loadConfig } from '@fleece/server';
import { load } from './lib/autocannon.js';
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
interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}
const pg = createRequire(new URL('../packages/server/package.json', import.meta.url))('pg') as {
  Client: new (options: { connectionString: string }) => PgClient;
};

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Starts the app on `env`, signs in through a magic link, and loads `GET /api/v1/me` with the cookie. */
async function measure(env: Record<string, string>) {
  const logs = new Lines();
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env }), {
    logStream: logs,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const origin = new URL(app.config.publicUrl).origin;
    const asked = await fetch(`${url}/api/auth/magic-link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.test' }),
    });
    if (asked.status !== 202) throw new Error(`magic link answered ${asked.status}`);
    const line = logs.lines.map((l) => JSON.parse(l) as { link?: string }).find((r) => r.link);
    const token = new URL(line!.link!).searchParams.get('token')!;
    const verified = await fetch(`${url}/api/auth/magic-link/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ token }),
    });
    const cookie = verified.headers.get('set-cookie')?.split(';')[0];
    if (verified.status !== 200 || !cookie) throw new Error(`sign-in answered ${verified.status}`);
    // Request logs at info would dominate the measurement; the health benchmark runs at warn as well.
    app.log.level = 'warn';
    const me = await load(`${url}/api/v1/me`, { headers: { cookie } });
    if (me.non2xx || me.errors)
      throw new Error(`/api/v1/me answered ${me.non2xx} non-2xx, ${me.errors} errors`);
    return me;
  } finally {
    await app.close();
  }
}

/**
 * Session-authenticated `GET /api/v1/me` (cookie → HS256 JWT check → cached session validity → one query
 * for the user row and its live-session count) against a bare Fastify route, in one run: on the embedded
 * database (PGlite, which runs in the server's own thread), and on PostgreSQL when `BENCH_DATABASE_URL` or
 * `TEST_DATABASE_URL` names a superuser URL (a database is created and dropped for the run). The session is
 * obtained the way a browser gets it: a magic link from the dev outbox, then its verification.
 */
const benchmark: Benchmark = {
  name: 'me',
  async run() {
    const bare = await startBareFastify();
    const rows: BenchRow[] = [];
    try {
      const baseline = await load(bare.url);
      const add = (label: string, me: Awaited<ReturnType<typeof measure>>) => {
        rows.push(
          {
            metric: `GET /api/v1/me throughput, session cookie, ${label} (50 connections)`,
            unit: 'req/s',
            value: me.requestsPerSecond,
            baselineName: 'bare Fastify',
            baseline: baseline.requestsPerSecond,
            ratio: me.requestsPerSecond / baseline.requestsPerSecond,
          },
          {
            metric: `GET /api/v1/me p99 latency, ${label}`,
            unit: 'ms',
            value: me.p99,
            baselineName: 'bare Fastify',
            baseline: baseline.p99,
            ratio: me.p99 / Math.max(baseline.p99, 1),
          },
        );
      };
      add('embedded PGlite', await measure({ FLEECE_DATA_DIR: 'memory://' }));
      const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
      if (adminUrl) {
        const name = `fleece_bench_${randomBytes(6).toString('hex')}`;
        await admin(adminUrl, `CREATE DATABASE ${name}`);
        try {
          const dbUrl = new URL(adminUrl);
          dbUrl.pathname = `/${name}`;
          add('PostgreSQL', await measure({ DATABASE_URL: dbUrl.toString() }));
        } finally {
          await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
      }
      return { rows };
    } finally {
      await bare.app.close();
    }
  },
};

export default benchmark;
