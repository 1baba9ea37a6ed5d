import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startKeyServer } from './lib/key-server.js';
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

    // A Pro account with a read-only key, as a CI pipeline would list keys with.
    const server = await startKeyServer({ scopes: ['read'] });
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
