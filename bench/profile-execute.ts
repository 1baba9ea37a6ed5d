/**
 * Where the server's CPU goes per execution: `POST /api/v1/agents/:id/execute` (JSON) driven `PROFILE_RUNS`
 * times (default 500, after 50 unprofiled warm-up runs) against a mock OpenAI-compatible upstream, with the
 * server in a process of its own on PostgreSQL (`BENCH_DATABASE_URL` or `TEST_DATABASE_URL`, a superuser
 * URL: a fresh database, dropped afterwards).
 *
 *     TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *       node --conditions=@fleece/source --import tsx bench/profile-execute.ts
 *
 * The server runs `OPENAI_BASE_URL` at the mock (one model, `bench-model`, the agent's default), with the
 * execute route limit raised through `FLEECE_ROUTE_LIMITS=agentExecute=1000000`, the account on Enterprise
 * (1,000 API requests a minute) and its `ai_processing` consent granted; bench/lib/key-server.ts turns
 * request logging down to `warn` once it is set up. The server's CPU is sampled every 100 µs with the V8
 * profiler only while the measured executions run (bench/lib/profile-server-child.ts; the sampler's own
 * cost shows as `post node:inspector`); the profile is written to `PROFILE_OUT` (default
 * `./execute.cpuprofile`, loadable in Chrome DevTools) and the busy CPU time per execution and the top 25
 * functions by self time are printed. On a shared machine, time in system calls (`writev`) grows with the
 * load: compare runs made under the same load.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONSENT_POLICY_VERSIONS } from '../packages/server/src/modules/consents/service.js';
import { adminSql, benchAdminUrl, withFreshDatabase } from './lib/database.js';

const RUNS = Number(process.env.PROFILE_RUNS ?? 500);
const WARMUP = 50;
const OUT = process.env.PROFILE_OUT ?? 'execute.cpuprofile';

/** An OpenAI-compatible upstream answering every chat completion with three deltas and the usage. */
async function mockUpstream(): Promise<{ server: Server; url: string }> {
  const chunk = (delta: object, extra: object = {}) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'bench-model', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: 'Hello' }));
      res.write(chunk({ content: ', ' }));
      res.write(chunk({ content: 'world.' }));
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'bench-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The top `n` functions of a V8 CPU profile by self time (ms, `(idle)` left out), and the busy and idle totals. */
function topSelf(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, n: number) {
  const byNode = new Map<number, number>();
  for (const [i, id] of profile.samples.entries())
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url
      .replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '')
      .replace(/^.*\/packages\//, '');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + (byNode.get(node.id) ?? 0));
  }
  const idle = byFunction.get('(idle)') ?? 0;
  byFunction.delete('(idle)');
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  return {
    busyMs: total / 1000,
    idleMs: idle / 1000,
    top: [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total })),
  };
}

async function profileOn(databaseUrl: string): Promise<void> {
  const upstream = await mockUpstream();
  const options = {
    plan: 'enterprise',
    env: {
      DATABASE_URL: databaseUrl,
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: upstream.url,
      FLEECE_OPENAI_MODELS: 'bench-model',
      FLEECE_ROUTE_LIMITS: 'agentExecute=1000000',
      FLEECE_RATE_LIMIT_PER_MINUTE: '100000000',
    },
  };
  const child = spawn(
    process.execPath,
    [
      '--conditions=@fleece/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./lib/profile-server-child.ts', import.meta.url)),
      JSON.stringify(options),
      OUT,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  const { url, key } = JSON.parse(await next()) as { url: string; key: string };
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  // The consent is granted by the account holder in a session (API keys may not); here, as the owner.
  await adminSql(
    databaseUrl,
    `insert into consents (user_id, type, granted, policy_version, updated_at)
     select id, 'ai_processing', true, '${CONSENT_POLICY_VERSIONS.ai_processing}', now() from users
     where email = 'bench@example.test'`,
  );
  const agent = (await (
    await fetch(`${url}/api/v1/agents`, { method: 'POST', headers, body: JSON.stringify({ name: 'bench' }) })
  ).json()) as { id: string };
  const execute = async () => {
    const res = await fetch(`${url}/api/v1/agents/${agent.id}/execute`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ input: 'Say hello.' }),
    });
    const body = (await res.json()) as { status?: string };
    if (res.status !== 201 || body.status !== 'succeeded')
      throw new Error(`execute answered ${res.status}: ${JSON.stringify(body)}`);
  };
  for (let i = 0; i < WARMUP; i++) await execute();
  child.stdin!.write('start\n');
  await next();
  const began = performance.now();
  for (let i = 0; i < RUNS; i++) await execute();
  const wallMs = performance.now() - began;
  child.stdin!.write('stop\n');
  await next();
  child.stdin!.end();
  await once(child, 'exit');
  upstream.server.close();
  const { busyMs, idleMs, top } = topSelf(JSON.parse(await readFile(OUT, 'utf8')), 25);
  console.log(
    `${RUNS} JSON executions on PostgreSQL: ${(wallMs / RUNS).toFixed(2)} ms each (wall, sequential), server CPU busy ${(busyMs / RUNS).toFixed(2)} ms each (idle ${(idleMs / RUNS).toFixed(2)} ms)`,
  );
  console.log('| self ms | share | function |');
  console.log('|---:|---:|---|');
  for (const f of top) console.log(`| ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% | ${f.name} |`);
}

const admin = benchAdminUrl();
if (!admin) throw new Error('Set BENCH_DATABASE_URL or TEST_DATABASE_URL to a PostgreSQL superuser URL.');
await withFreshDatabase(admin, profileOn);
