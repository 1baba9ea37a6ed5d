/**
 * The server process of bench/export.bench.ts, run as a child so that its RSS is the server's alone (the
 * parent seeds the data and downloads the export):
 *
 * 1. opens the store named by `EXPORT_BENCH_STORE` (JSON, see {@link BenchStore}), builds the app and listens
 *    on 127.0.0.1;
 * 2. signs the bench user in, collects garbage, prints `{"ready": {url, cookie, rssMiB}}` on stdout, and
 *    samples its RSS every 5 ms;
 * 3. on a line `done` on stdin, prints `{"peakRssMiB": …, "maxRssMiB": …}` and exits.
 */
import { createInterface } from 'node:readline';
import { type BenchStore, openBenchApp } from './export-db.js';

const MiB = 1024 * 1024;
const bench = await openBenchApp(JSON.parse(process.env.EXPORT_BENCH_STORE!) as BenchStore);
const url = await bench.app.listen({ host: '127.0.0.1', port: 0 });
const cookie = await bench.signIn();

const gc = (globalThis as { gc?: () => void }).gc;
for (let i = 0; i < 3; i++) gc?.();
let peak = process.memoryUsage.rss();
const peaks = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
  const m = process.memoryUsage();
  for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k] / MiB);
}, 5);
process.stdout.write(`${JSON.stringify({ ready: { url, cookie, rssMiB: peak / MiB } })}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'done') continue;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  for (let i = 0; i < 3; i++) gc?.();
  const after = process.memoryUsage();
  process.stderr.write(
    `export bench server: peaks ${JSON.stringify(peaks)} MiB; after GC rss ${(after.rss / MiB).toFixed(1)} heapUsed ${(after.heapUsed / MiB).toFixed(1)} MiB\n`,
  );
  process.stdout.write(`${JSON.stringify({ peakRssMiB: peak / MiB, maxRssMiB })}\n`);
  await bench.close();
  process.exit(0);
}
