import { buildApp, loadConfig } from '@fleece/server';
import { load } from './lib/autocannon.js';
import { startBareFastify } from './lib/bare.js';
import { benchAdminUrl, Lines, withFreshDatabase } from './lib/database.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** Starts the app on `env`, signs in through a magic link, and loads `GET /api/v1/me` with the cookie. */
async function measure(env: Record<string, string>) {
  const logs = new Lines();
  // The default limit (600 a minute per route and user) would answer 429 to the load: raised, as in auth.bench.
  const app = await buildApp(
    loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'json', FLEECE_RATE_LIMIT_PER_MINUTE: '100000000', ...env }),
    { logStream: logs },
  );
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
      const adminUrl = benchAdminUrl();
      if (adminUrl) {
        add('PostgreSQL', await withFreshDatabase(adminUrl, (url) => measure({ DATABASE_URL: url })));
      }
      return { rows };
    } finally {
      await bare.app.close();
    }
  },
};

export default benchmark;
