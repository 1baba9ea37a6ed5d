import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildApp, loadConfig } from '@fleece/server';
import type { Benchmark, BenchRow } from './lib/types.js';

/** The built `fleece` binary (`pnpm --filter @fleece/cli build`). */
const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

/** Runs of each command, after two warm-up runs each. */
const RUNS = 20;

/** Wall time of one run of `node …args`, in milliseconds; throws when it fails. */
function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

/**
 * Wall time of one run of `node …args` with `env`, in milliseconds, without blocking this process (the
 * server answering the CLI runs in it); throws when it fails.
 */
function timeAsync(args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

/**
 * A real server in this process (PGlite in memory) with a Pro account (set through the admin API, as the
 * listed admin) holding one API key; the environment that points `fleece` at it with that key.
 */
async function keysServer(): Promise<{ env: Record<string, string>; close: () => Promise<void> }> {
  const lines: string[] = [];
  const app = await buildApp(
    loadConfig({
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      FLEECE_DATA_DIR: 'memory://',
      FLEECE_ADMIN_EMAILS: 'bench@example.test',
    }),
    { logStream: { write: (line: string) => void lines.push(line) } },
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const origin = new URL(app.config.publicUrl).origin;
  const json = { 'content-type': 'application/json' };
  await fetch(`${url}/api/auth/magic-link`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: 'bench@example.test' }),
  });
  const link = lines.map((l) => JSON.parse(l) as { link?: string }).find((r) => r.link)!.link!;
  const verified = await fetch(`${url}/api/auth/magic-link/verify`, {
    method: 'POST',
    headers: { ...json, origin },
    body: JSON.stringify({ token: new URL(link).searchParams.get('token') }),
  });
  const cookie = verified.headers.get('set-cookie')!.split(';')[0]!;
  const session = { ...json, origin, cookie };
  const me = (await (await fetch(`${url}/api/v1/me`, { headers: { cookie } })).json()) as {
    user: { id: string };
  };
  await fetch(`${url}/api/v1/admin/users/${me.user.id}`, {
    method: 'PATCH',
    headers: session,
    body: JSON.stringify({ plan: 'pro' }),
  });
  const created = await fetch(`${url}/api/v1/api-keys`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ name: 'bench', scopes: ['read'] }),
  });
  if (created.status !== 201) throw new Error(`key creation answered ${created.status}`);
  const { key } = (await created.json()) as { key: string };
  app.log.level = 'warn';
  return { env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: url }, close: () => app.close() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Start-up cost of the CLI: `fleece --version` (the built binary) against `node -e 0`, each spawned
 * {@link RUNS} times, interleaved so both see the same machine load; medians compared. And `fleece keys list
 * --json` (start-up, one authenticated request to a real server in this process, JSON out) against the same
 * baseline, with a target of at most 4×.
 */
const benchmark: Benchmark = {
  name: 'cli',
  async run() {
    if (!existsSync(BIN)) {
      return {
        rows: [],
        skipped: 'packages/cli/dist/bin.js is missing: run `pnpm --filter @fleece/cli build` first',
      };
    }
    const version = [BIN, '--version'];
    const bare = ['-e', '0'];
    for (let i = 0; i < 2; i++) {
      time(version);
      time(bare);
    }
    const fleece: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      fleece.push(time(version));
      node.push(time(bare));
    }
    const value = median(fleece);
    const baseline = median(node);
    const ratio = value / baseline;

    const server = await keysServer();
    const list = [BIN, 'keys', 'list', '--json'];
    const keys: number[] = [];
    const nodeAgain: number[] = [];
    try {
      for (let i = 0; i < 2; i++) await timeAsync(list, server.env);
      for (let i = 0; i < RUNS; i++) {
        keys.push(await timeAsync(list, server.env));
        nodeAgain.push(await timeAsync(bare));
      }
    } finally {
      await server.close();
    }
    const keysValue = median(keys);
    const keysBaseline = median(nodeAgain);
    const keysRow: BenchRow = {
      metric: `fleece keys list --json against a local server (median of ${RUNS} spawns)`,
      unit: 'ms',
      value: keysValue,
      baselineName: 'node -e 0',
      baseline: keysBaseline,
      ratio: keysValue / keysBaseline,
      target: 'ratio ≤ 4',
      met: keysValue / keysBaseline <= 4,
    };
    return {
      rows: [
        keysRow,
        {
          metric: `fleece --version start-up (median of ${RUNS} spawns)`,
          unit: 'ms',
          value,
          baselineName: 'node -e 0',
          baseline,
          ratio,
          target: 'ratio ≤ 2.5',
          met: ratio <= 2.5,
        },
      ],
    };
  },
};

export default benchmark;
