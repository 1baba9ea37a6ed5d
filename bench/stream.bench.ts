import { performance } from 'node:perf_hooks';
import { buildApp, loadConfig } from '@fleece/server';
import { MockProvider } from '../packages/server/src/modules/ai/providers/mock.js';
import { benchAdminUrl, Lines, withFreshDatabase } from './lib/database.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** Streams run at once, as issue 6 asks. */
const CONCURRENCY = 20;
/** Measured rounds of {@link CONCURRENCY} streams each, after one unmeasured warm-up round. */
const ROUNDS = 3;
/**
 * The mock's pace per chunk, in ms: `0` shows the server's own cost per stream, `20` a fast model's pace
 * (≈150 words a second in three-word chunks), where the overhead a user feels shows.
 */
const PACES_MS = [0, 20] as const;
const ADMIN = 'bench@example.test';

/** Time to first byte of output and total time of one stream, in ms. */
interface Timing {
  ttfb: number;
  total: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs `one` {@link CONCURRENCY} at a time for a warm-up round and {@link ROUNDS} measured rounds. */
async function rounds(one: (i: number) => Promise<Timing>): Promise<Timing[]> {
  const timings: Timing[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const batch = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) => one(round * CONCURRENCY + i)),
    );
    if (round > 0) timings.push(...batch);
  }
  return timings;
}

const input = (i: number) => `Summarise ticket ${i}: the export job stalls after the first page of results.`;

/** The baseline: the mock provider called in process, first delta and final result. */
function direct(provider: MockProvider): Promise<Timing[]> {
  return rounds(async (i) => {
    const start = performance.now();
    const stream = provider.stream(
      [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: input(i) },
      ],
      { model: 'mock' },
    );
    let ttfb = Number.NaN;
    for await (const _text of stream) if (Number.isNaN(ttfb)) ttfb = performance.now() - start;
    await stream.result();
    return { ttfb, total: performance.now() - start };
  });
}

/**
 * The same through the server: `POST /api/v1/agents/:id/execute` as Server-Sent Events over HTTP on
 * 127.0.0.1, signed in with a session cookie; first `output.delta` event and the `done` event.
 */
async function throughServer(env: Record<string, string>, provider: MockProvider): Promise<Timing[]> {
  const logs = new Lines();
  const app = await buildApp(
    loadConfig({
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      FLEECE_ADMIN_EMAILS: ADMIN,
      // The execute limit (10 a minute) would stop the load after ten streams; raised for this deployment.
      FLEECE_ROUTE_LIMITS: 'agentExecute=1000000',
      ...env,
    }),
    { logStream: logs, providers: { mock: provider } },
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const origin = new URL(app.config.publicUrl).origin;
    const json = { 'content-type': 'application/json', origin };
    const asked = await fetch(`${url}/api/auth/magic-link`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: ADMIN }),
    });
    if (asked.status !== 202) throw new Error(`magic link answered ${asked.status}`);
    const line = logs.lines.map((l) => JSON.parse(l) as { link?: string }).find((r) => r.link);
    const token = new URL(line!.link!).searchParams.get('token')!;
    const verified = await fetch(`${url}/api/auth/magic-link/verify`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ token }),
    });
    const cookie = verified.headers.get('set-cookie')?.split(';')[0];
    if (verified.status !== 200 || !cookie) throw new Error(`sign-in answered ${verified.status}`);
    const headers = { ...json, cookie };
    const me = (await (await fetch(`${url}/api/v1/me`, { headers })).json()) as { user: { id: string } };
    // Enterprise: its monthly quota (200,000) covers the run; Free's 50 would not.
    const plan = await fetch(`${url}/api/v1/admin/users/${me.user.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ plan: 'enterprise' }),
    });
    if (plan.status !== 200) throw new Error(`setting the plan answered ${plan.status}`);
    // Executions need the AI-processing consent where consents exist (a server without them answers 404).
    const consent = await fetch(`${url}/api/v1/account/consents/ai_processing`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ granted: true }),
    });
    if (consent.status !== 200 && consent.status !== 404)
      throw new Error(`consent answered ${consent.status}`);
    const agent = await fetch(`${url}/api/v1/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', instructions: 'Answer briefly.', model: 'mock' }),
    });
    if (agent.status !== 201) throw new Error(`creating the agent answered ${agent.status}`);
    const { id } = (await agent.json()) as { id: string };
    // Request logs at info would dominate the measurement, as in the other HTTP benchmarks.
    app.log.level = 'warn';
    return await rounds(async (i) => {
      const start = performance.now();
      const res = await fetch(`${url}/api/v1/agents/${id}/execute`, {
        method: 'POST',
        headers: { ...headers, accept: 'text/event-stream' },
        body: JSON.stringify({ input: input(i), stream: true }),
      });
      if (res.status !== 200 || !res.body) throw new Error(`execute answered ${res.status}`);
      const decoder = new TextDecoder();
      let text = '';
      let ttfb = Number.NaN;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        if (Number.isNaN(ttfb) && text.includes('event: output.delta')) ttfb = performance.now() - start;
        if (/event: done\n/.test(text)) break;
      }
      const total = performance.now() - start;
      if (!text.includes('event: execution.completed')) throw new Error('the execution did not complete');
      return { ttfb, total };
    });
  } finally {
    await app.close();
  }
}

/**
 * Streaming overhead (issue 6): an execution streamed from the mock provider through the server (SSE over
 * HTTP: auth, rate limit, quota, the execution row, every delta stored encrypted and announced, the event
 * written to the socket) against the mock provider called directly in process, at 20 concurrent streams.
 * Medians of time to first output byte and total time over 60 streams, at two mock paces, on the embedded
 * database and on PostgreSQL when `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` names a superuser URL.
 */
const benchmark: Benchmark = {
  name: 'stream',
  async run() {
    const rows: BenchRow[] = [];
    const adminUrl = benchAdminUrl();
    const databases: {
      label: string;
      with: (fn: (env: Record<string, string>) => Promise<Timing[]>) => Promise<Timing[]>;
    }[] = [
      { label: 'PGlite', with: (fn) => fn({ FLEECE_DATA_DIR: 'memory://' }) },
      ...(adminUrl
        ? [
            {
              label: 'PostgreSQL',
              with: (fn: (env: Record<string, string>) => Promise<Timing[]>) =>
                withFreshDatabase(adminUrl, (url) => fn({ DATABASE_URL: url })),
            },
          ]
        : []),
    ];
    for (const pace of PACES_MS) {
      const baseline = await direct(new MockProvider({ chunkDelayMs: pace }));
      for (const database of databases) {
        const served = await database.with((env) =>
          throughServer(env, new MockProvider({ chunkDelayMs: pace })),
        );
        const label = `${CONCURRENCY} concurrent, mock ${pace ? `${pace} ms/chunk` : 'unpaced'}, ${database.label}`;
        for (const [metric, key] of [
          ['time to first byte', 'ttfb'],
          ['total time', 'total'],
        ] as const) {
          const value = median(served.map((t) => t[key]));
          const base = median(baseline.map((t) => t[key]));
          rows.push({
            metric: `SSE execute ${metric} (p50), ${label}`,
            unit: 'ms',
            value,
            baselineName: 'mock called directly',
            baseline: base,
            ratio: value / base,
          });
        }
      }
    }
    return { rows };
  },
};

export default benchmark;
