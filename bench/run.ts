import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Benchmark, BenchRow } from './lib/types.js';

// `pnpm bench [name…]` runs every bench/*.bench.ts (or the named ones) and prints one table of ratios
// against baselines measured in the same run. Exit code 1 when a target is missed or a benchmark fails.
const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
const lines: string[] = [];
let missed = 0;
for (const file of files) {
  const { default: bench } = (await import(`./${file}`)) as { default: Benchmark };
  process.stderr.write(`running ${bench.name}…\n`);
  let outcome: Awaited<ReturnType<Benchmark['run']>>;
  try {
    outcome = await bench.run();
  } catch (error) {
    // One broken benchmark must not hide the others' figures; it still fails the run.
    missed++;
    lines.push(`| ${bench.name} | FAILED: ${(error as Error).message.split('\n')[0]} | | | | | MISSED |`);
    continue;
  }
  const { rows, skipped } = outcome;
  if (skipped) lines.push(`| ${bench.name} | skipped: ${skipped} | | | | | |`);
  for (const r of rows as BenchRow[]) {
    if (r.met === false) missed++;
    lines.push(
      `| ${bench.name} | ${r.metric} | ${fmt(r.value)} ${r.unit} | ${r.baselineName}: ${fmt(r.baseline)} ${r.unit} | ${r.ratio.toFixed(3)} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'met' : 'MISSED'} |`,
    );
  }
}
console.log('| benchmark | metric | value | baseline (same run) | ratio | target | |');
console.log('|---|---|---|---|---|---|---|');
for (const line of lines) console.log(line);
process.exitCode = missed ? 1 : 0;
