import { buildApp, loadConfig } from '@fleece/server';
import { load } from './lib/autocannon.js';
import { startBareFastify } from './lib/bare.js';
import type { Benchmark } from './lib/types.js';

/** GET /api/health on the embedded database against a bare Fastify route, in one run. */
const benchmark: Benchmark = {
  name: 'health',
  async run() {
    const bare = await startBareFastify();
    // Health is exempt from rate limiting, so the default limit (600 a minute per caller) stays as deployed.
    const app = await buildApp(loadConfig({ FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const baseline = await load(bare.url);
      const health = await load(`${url}/api/health`);
      if (health.non2xx || health.errors)
        throw new Error(`health answered ${health.non2xx} non-2xx, ${health.errors} errors`);
      const ratio = health.requestsPerSecond / baseline.requestsPerSecond;
      return {
        rows: [
          {
            metric: 'GET /api/health throughput (50 connections)',
            unit: 'req/s',
            value: health.requestsPerSecond,
            baselineName: 'bare Fastify',
            baseline: baseline.requestsPerSecond,
            ratio,
            target: 'ratio ≥ 0.5',
            met: ratio >= 0.5,
          },
          {
            metric: 'GET /api/health p99 latency',
            unit: 'ms',
            value: health.p99,
            baselineName: 'bare Fastify',
            baseline: baseline.p99,
            ratio: health.p99 / Math.max(baseline.p99, 1),
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
