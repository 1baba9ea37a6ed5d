import { buildApp, loadConfig } from '@fleece/server';
import { load } from './lib/autocannon.js';
import { startBareFastify } from './lib/bare.js';
import type { Benchmark } from './lib/types.js';

/** Collects the app's log lines so the dev outbox's magic link can be read back. */
class Lines {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

/**
 * Session-authenticated `GET /api/v1/me` (cookie → HS256 JWT check → cached session validity → user row
 * and live session count from the embedded database) against a bare Fastify route, in one run. The
 * session is obtained the way a browser gets it: a magic link from the dev outbox, then its verification.
 */
const benchmark: Benchmark = {
  name: 'me',
  async run() {
    const bare = await startBareFastify();
    const logs = new Lines();
    const app = await buildApp(
      loadConfig({ FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'info', LOG_FORMAT: 'json' }),
      {
        logStream: logs,
      },
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

      const baseline = await load(bare.url);
      const me = await load(`${url}/api/v1/me`, { headers: { cookie } });
      if (me.non2xx || me.errors)
        throw new Error(`/api/v1/me answered ${me.non2xx} non-2xx, ${me.errors} errors`);
      const ratio = me.requestsPerSecond / baseline.requestsPerSecond;
      return {
        rows: [
          {
            metric: 'GET /api/v1/me throughput, session cookie (50 connections)',
            unit: 'req/s',
            value: me.requestsPerSecond,
            baselineName: 'bare Fastify',
            baseline: baseline.requestsPerSecond,
            ratio,
          },
          {
            metric: 'GET /api/v1/me p99 latency',
            unit: 'ms',
            value: me.p99,
            baselineName: 'bare Fastify',
            baseline: baseline.p99,
            ratio: me.p99 / Math.max(baseline.p99, 1),
          },
        ],
      };
    } finally {
      await app.close();
      await bare.app.close();
    }
  },
};

export default benchmark;
