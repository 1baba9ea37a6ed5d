import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startKeyServerProcess } from './lib/key-server.js';
import type { Benchmark } from './lib/types.js';

/** The part of undici this benchmark uses. */
interface Undici {
  Agent: new (options: { keepAliveTimeout: number }) => { close(): Promise<void> };
  request(
    url: string,
    options: { headers: Record<string, string>; dispatcher: unknown },
  ): Promise<{ statusCode: number; body: { json(): Promise<unknown> } }>;
}

// The SDK's own undici (the root has none), so both sides send with the same HTTP client.
const undici = createRequire(new URL('../packages/sdk/package.json', import.meta.url))('undici') as Undici;

/**
 * The built SDK (`pnpm --filter @fleece/sdk build`): what users run. The sources under tsx would add its
 * keep-names wrapper to every closure the SDK makes per call, which the published bundle does not have.
 */
const SDK_DIST = new URL('../packages/sdk/dist/index.js', import.meta.url);

/** Measured requests per side, after {@link WARM_UP} unmeasured ones each. */
const REQUESTS = 3000;
const WARM_UP = 300;

/** Wall time of one call, in milliseconds. */
async function time(call: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * The SDK's overhead on one call (the built SDK): `client.me.get()` (headers, request id, retry bookkeeping, JSON parse and
 * zod validation of `MeResponse`) against a bare undici `request()` of the same `GET /api/v1/me` with the
 * same API key on a keep-alive pool, its body parsed as JSON. Both talk to one real server in a child process
 * (so its work and garbage collection are not counted as the client's; PGlite in memory; an Enterprise account whose API limits are raised above the load, rate limiting still
 * on), one request at a time, the sides taking turns request by request. Target: at most 1.15× the time per request.
 */
const benchmark: Benchmark = {
  name: 'sdk',
  async run() {
    if (!existsSync(fileURLToPath(SDK_DIST))) {
      return {
        rows: [],
        skipped: 'packages/sdk/dist is missing: run `pnpm --filter @fleece/sdk build` first',
      };
    }
    const { Fleece } = (await import(SDK_DIST.href)) as typeof import('@fleece/sdk');
    const server = await startKeyServerProcess({
      plan: 'enterprise',
      limits: { apiBurstPerMinute: 100_000_000, apiPerDay: 100_000_000 },
      env: { FLEECE_RATE_LIMIT_PER_MINUTE: '100000000' },
    });
    const agent = new undici.Agent({ keepAliveTimeout: 60_000 });
    try {
      const client = new Fleece({ baseURL: server.url, apiKey: server.key, maxRetries: 0 });
      const unvalidated = client.withOptions({ validateResponses: false });
      const headers = { authorization: `Bearer ${server.key}`, accept: 'application/json' };
      const raw = async () => {
        const response = await undici.request(`${server.url}/api/v1/me`, { headers, dispatcher: agent });
        if (response.statusCode !== 200)
          throw new Error(`raw GET /api/v1/me answered ${response.statusCode}`);
        return response.body.json();
      };
      const sides = {
        sdk: () => client.me.get(),
        unvalidated: () => unvalidated.me.get(),
        raw,
      };
      const totals = { sdk: 0, unvalidated: 0, raw: 0 };
      const order = Object.keys(sides) as (keyof typeof sides)[];
      for (let i = 0; i < WARM_UP; i++) for (const side of order) await sides[side]();
      // One request of each side in turn, the order rotating, so load changes on this shared machine fall
      // on every side alike.
      for (let i = 0; i < REQUESTS; i++) {
        for (let j = 0; j < order.length; j++) {
          const side = order[(i + j) % order.length] as keyof typeof sides;
          totals[side] += await time(sides[side]);
        }
      }
      const n = REQUESTS;
      const perRequest = (side: keyof typeof totals) => (totals[side] / n) * 1000;
      const ratio = totals.sdk / totals.raw;
      return {
        rows: [
          {
            metric: `client.me.get() vs undici request(), GET /api/v1/me, ${n} sequential requests each`,
            unit: 'µs/req',
            value: perRequest('sdk'),
            baselineName: 'undici request()',
            baseline: perRequest('raw'),
            ratio,
            target: 'ratio ≤ 1.15',
            met: ratio <= 1.15,
          },
          {
            metric: 'the same with validateResponses: false (the cost of zod validation, for reference)',
            unit: 'µs/req',
            value: perRequest('unvalidated'),
            baselineName: 'undici request()',
            baseline: perRequest('raw'),
            ratio: totals.unvalidated / totals.raw,
          },
        ],
      };
    } finally {
      await agent.close();
      await server.close();
    }
  },
};

export default benchmark;
