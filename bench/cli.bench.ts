import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Benchmark } from './lib/types.js';

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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Start-up cost of the CLI: `fleece --version` (the built binary) against `node -e 0`, each spawned
 * {@link RUNS} times, interleaved so both see the same machine load; medians compared. `keys list`
 * joins when the keys command exists.
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
    return {
      rows: [
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
