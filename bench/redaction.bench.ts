import { redactUrl, scrubCredentials } from '../packages/server/src/logger.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/**
 * Log redaction must cost time in proportion to what a client sends: every request's URL and every log line
 * goes through it, so a pattern that is quadratic on some input lets one long request stall the server. Each
 * adversarial input (runs that a credential shape starts on again and again) is scrubbed at 4 KiB and at 64 KiB;
 * the figure is the time per KiB at 64 KiB against the time per KiB at 4 KiB, measured in the same run.
 * Linear code gives a ratio near 1; a quadratic pattern gives about 16.
 */
const INPUTS: Record<string, (n: number) => string> = {
  'letters (URL-password scheme)': (n) => 'a'.repeat(n),
  'repeated eyJ (JWT header)': (n) => 'eyJ'.repeat(Math.ceil(n / 3)).slice(0, n),
  'repeated flc_ (API key)': (n) => 'flc_'.repeat(Math.ceil(n / 4)).slice(0, n),
  'repeated Bearer': (n) => 'Bearer'.repeat(Math.ceil(n / 6)).slice(0, n),
  'scheme-like run': (n) => 'a+b.c-d'.repeat(Math.ceil(n / 7)).slice(0, n),
};

/** Milliseconds per KiB of `fn(input)`, the median of `rounds` timings of `repeat` calls each. */
function perKiB(fn: (s: string) => string, input: string, repeat: number, rounds = 7): number {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < repeat; i++) fn(input);
    times.push((performance.now() - start) / repeat);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)]! / (input.length / 1024);
}

const bench: Benchmark = {
  name: 'redaction',
  async run() {
    const rows: BenchRow[] = [];
    for (const [label, make] of Object.entries(INPUTS)) {
      for (const [fnName, fn] of [
        ['scrubCredentials', scrubCredentials],
        ['redactUrl', (s: string) => redactUrl(`/${s}?q=${s}`)],
      ] as const) {
        const small = perKiB(fn, make(4 * 1024), 200);
        const large = perKiB(fn, make(64 * 1024), 20);
        const ratio = large / small;
        rows.push({
          metric: `${fnName}, ${label}: ms per KiB at 64 KiB`,
          value: large,
          baselineName: 'ms per KiB at 4 KiB',
          baseline: small,
          ratio,
          target: 'ratio ≤ 3 (linear)',
          met: ratio <= 3,
          unit: 'ms/KiB',
        });
      }
    }
    return { rows };
  },
};

export default bench;
