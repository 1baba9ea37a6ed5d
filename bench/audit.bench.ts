import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { buildApp, loadConfig } from '@fleece/server';
import type { FastifyInstance } from 'fastify';
import { DURATION_S } from './lib/autocannon.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/**
 * The audit log on real PostgreSQL, in one run:
 *
 * 1. sustained `audit.record` rate with 16 concurrent writers on 16 distinct subjects, one event per
 *    transaction (the way a feature records: inside the transaction of its change), against plain INSERTs
 *    into an identical table (`CREATE TABLE … (LIKE audit_events INCLUDING ALL)`: same columns, indexes and
 *    constraints, no triggers, no hashing, no encryption, no chain lock), also one per transaction;
 * 2. the same baseline as single autocommit INSERTs, for reference;
 * 3. end-to-end latency from `record` on instance A to the event's arrival on an SSE client of instance
 *    B, both apps on the same database.
 *
 * Needs PostgreSQL: `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` (a superuser URL); the benchmark creates
 * and drops a database of its own. Each throughput workload runs `BENCH_DURATION` seconds (default 5), in
 * one-second slices interleaved with the others.
 */

// The bench reaches PostgreSQL through the server package's own driver and query builder (the root has
// neither): `pg` for the admin connection, and the very drizzle-orm instance the app uses for the baseline.
interface PgClient {
  connect(): Promise<void>;
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const pg = createRequire(new URL('../packages/server/package.json', import.meta.url))('pg') as {
  Client: new (options: { connectionString: string }) => PgClient;
};

type SqlTag = (
  strings: TemplateStringsArray,
  ...values: unknown[]
) => Parameters<FastifyInstance['db']['execute']>[0];
const { sql } = (await import(
  new URL('../packages/server/node_modules/drizzle-orm/index.js', import.meta.url).href
)) as { sql: SqlTag };

const WRITERS = 16;
const LATENCY_SAMPLES = 200;

async function withClient<T>(url: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `op(writer)` in a loop on `WRITERS` concurrent writers for `ms`; returns the operations done. */
async function slice(op: (writer: number) => Promise<unknown>, ms: number): Promise<number> {
  const end = performance.now() + ms;
  const counts = await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      let n = 0;
      while (performance.now() < end) {
        await op(writer);
        n++;
      }
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Sustained rates of several workloads under the same conditions: `BENCH_DURATION` seconds each, run as
 * interleaved one-second slices (A B C, then C B A, …) so that a change in machine load during the run
 * affects every workload alike. Returns operations per second, in the order given.
 */
async function interleaved<const T extends readonly ((writer: number) => Promise<unknown>)[]>(
  ops: T,
): Promise<{ [K in keyof T]: number }> {
  const done = ops.map(() => 0);
  for (let round = 0; round < DURATION_S; round++) {
    const order = ops.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) done[i]! += await slice(ops[i]!, 1_000);
  }
  return done.map((n) => n / DURATION_S) as { [K in keyof T]: number };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * The baseline: one audit-event-shaped row (same columns and sizes, the ciphertexts and hashes as random
 * bytes) inserted with bound parameters, as any feature inserts its rows.
 */
function plainInsert(writer: number) {
  const subject = `sub_${writer.toString(16).padStart(32, '0')}`;
  return sql`insert into audit_events_plain (chain, occurred_at, actor_type, actor_subject, api_key_id, action,
      resource_type, resource_id, outcome, metadata, ip, user_agent, ip_ciphertext, user_agent_ciphertext,
      request_id, prev_hash, hash)
    values (${subject}, ${new Date().toISOString()}::timestamptz, ${'user'}, ${subject}, ${null},
      ${'flow.triggered'}, ${'flow'}, ${'flw_bench'}, ${'success'}, ${'{"run":1,"trigger":"bench"}'}::jsonb,
      ${null}::inet, ${null}, ${randomBytes(40)}, ${randomBytes(49)}, ${'req_bench_000001'}, ${randomBytes(32)},
      ${randomBytes(32)})`;
}

const benchmark: Benchmark = {
  name: 'audit',
  async run() {
    const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
    if (!adminUrl)
      return { rows: [], skipped: 'set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL URL' };
    const name = `fleece_bench_${randomBytes(6).toString('hex')}`;
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const env = { DATABASE_URL: url.toString(), DATABASE_POOL_MAX: '24', LOG_LEVEL: 'warn', PORT: '0' };
    const apps: FastifyInstance[] = [];
    try {
      const a = await buildApp(loadConfig(env));
      apps.push(a);
      await withClient(url.toString(), (c) =>
        c.query('CREATE TABLE audit_events_plain (LIKE audit_events INCLUDING ALL)'),
      );

      // Warm up both paths (connections, plans, subjects).
      for (let w = 0; w < WRITERS; w++) {
        await a.db.transaction((tx) => tx.execute(plainInsert(w)));
        await a.db.transaction((tx) =>
          a.audit.record(tx, ctx(w), { action: 'flow.triggered', resourceType: 'flow', outcome: 'success' }),
        );
      }

      const [plainTx, plainAutocommit, recorded] = await interleaved([
        (w) => a.db.transaction((tx) => tx.execute(plainInsert(w))),
        (w) => a.db.execute(plainInsert(w)),
        (w) =>
          a.db.transaction((tx) =>
            a.audit.record(tx, ctx(w), {
              action: 'flow.triggered',
              resourceType: 'flow',
              resourceId: 'flw_bench',
              outcome: 'success',
              metadata: { run: 1, trigger: 'bench' },
            }),
          ),
      ]);
      const verified = await a.audit.verify({ kind: 'all' });
      if (!verified.valid) throw new Error(`chains broken after the run: ${JSON.stringify(verified)}`);

      const latencies = await streamLatency(a, env);
      const sorted = [...latencies].sort((x, y) => x - y);
      const p50 = quantile(sorted, 0.5);
      const p99 = quantile(sorted, 0.99);

      const rows: BenchRow[] = [
        {
          metric: `audit.record, ${WRITERS} writers on distinct subjects, 1 event per transaction`,
          unit: 'events/s',
          value: recorded,
          baselineName: 'plain INSERT into identical table, 1 per transaction',
          baseline: plainTx,
          ratio: recorded / plainTx,
          target: 'ratio ≥ 0.5',
          met: recorded / plainTx >= 0.5,
        },
        {
          metric: `audit.record, ${WRITERS} writers (reference: autocommit baseline)`,
          unit: 'events/s',
          value: recorded,
          baselineName: 'plain autocommit INSERT into identical table',
          baseline: plainAutocommit,
          ratio: recorded / plainAutocommit,
        },
        {
          metric: 'record on A → SSE delivery on B, median',
          unit: 'ms',
          value: p50,
          baselineName: 'target',
          baseline: 250,
          ratio: p50 / 250,
        },
        {
          metric: `record on A → SSE delivery on B, p99 (${LATENCY_SAMPLES} events)`,
          unit: 'ms',
          value: p99,
          baselineName: 'target',
          baseline: 250,
          ratio: p99 / 250,
          target: 'p99 < 250 ms',
          met: p99 < 250,
        },
      ];
      return { rows };
    } finally {
      for (const app of apps) await app.close();
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }

    function ctx(writer: number) {
      return {
        actor: { type: 'user' as const, userId: `usr_bench_${writer}` },
        ip: '203.0.113.9',
        userAgent: 'fleece-bench/1.0',
        requestId: 'req_bench_000001',
      };
    }

    /**
     * Instance B serves an SSE stream of one user's events; instance A records them one at a time. Each
     * sample is the time from calling `record` on A to parsing the event on B's stream.
     */
    async function streamLatency(a: FastifyInstance, env: Record<string, string>): Promise<number[]> {
      const b = await buildApp(loadConfig({ ...env, FLEECE_AUTO_MIGRATE: 'false' }));
      apps.push(b);
      // The bench authenticates its one reader itself; the real sign-in is not part of what is measured.
      b.addHook('onRequest', async (request) => {
        request.principal = { type: 'session', userId: 'usr_bench_reader', role: 'user' };
      });
      await b.listen({ host: '127.0.0.1', port: 0 });
      const { port } = b.server.address() as AddressInfo;
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/audit-events/stream`, {
        signal: controller.signal,
      });
      const arrivals = new Map<string, (at: number) => void>();
      const early = new Map<string, number>();
      const reading = (async () => {
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
              const id = /^id: (evt_\d+)$/m.exec(buffer.slice(0, end))?.[1];
              buffer = buffer.slice(end + 2);
              if (!id) continue;
              const waiter = arrivals.get(id);
              if (waiter) waiter(performance.now());
              else early.set(id, performance.now());
            }
          }
        } catch {
          // aborted at the end
        }
      })();
      const samples: number[] = [];
      try {
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          const started = performance.now();
          let resolveArrival!: (at: number) => void;
          const arrived = new Promise<number>((resolve) => {
            resolveArrival = resolve;
          });
          const id = await a.db.transaction((tx) =>
            a.audit.record(
              tx,
              { actor: { type: 'user', userId: 'usr_bench_reader' } },
              {
                action: 'agent.executed',
                resourceType: 'agent',
                resourceId: `agt_${i}`,
                outcome: 'success',
              },
            ),
          );
          const already = early.get(id);
          if (already !== undefined) resolveArrival(already);
          else arrivals.set(id, resolveArrival);
          const at = await Promise.race([
            arrived,
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error(`${id} never arrived`)), 5_000),
            ),
          ]);
          arrivals.delete(id);
          samples.push(at - started);
        }
      } finally {
        controller.abort();
        await reading;
      }
      return samples;
    }
  },
};

export default benchmark;
