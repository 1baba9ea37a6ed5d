import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { seedExecutions } from '../packages/server/test/helpers/seed.js';
import { benchAdminUrl, withFreshDatabase } from './lib/database.js';
import { type BenchStore, openBenchApp } from './lib/export-db.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** Rows of the small and the large export, and the most their peak RSS may differ (issue 7). */
const SMALL = 10_000;
const LARGE = 200_000;
const BOUND_MIB = 64;
/** Characters of input per seeded execution. */
const INPUT_BYTES = 256;

interface Measured {
  /** RSS once seeded and collected, before the export. */
  idleMiB: number;
  /** Highest RSS sampled (every 5 ms) from then until the download finished. */
  peakMiB: number;
  bytes: number;
  seconds: number;
}

/**
 * Seeds `rows` executions into `store` from this process (the app opened here, the bench user signed in
 * once so the account exists, then the bulk insert of the tests), then starts the server in a child process
 * (bench/lib/export-server.ts) on the same store, downloads `GET /api/v1/export` here (discarding the bytes,
 * checking the trailer's count), and returns the child's RSS figures.
 */
async function measure(store: BenchStore, rows: number): Promise<Measured> {
  const seeding = await openBenchApp(store);
  try {
    const cookie = await seeding.signIn();
    const me = await seeding.app.inject({ url: '/api/v1/me', headers: { cookie } });
    const userId = (me.json() as { user: { id: string } }).user.id;
    await seedExecutions(seeding.ownerQuery, seeding.app.config.encryption.current, userId, rows, {
      inputBytes: INPUT_BYTES,
    });
  } finally {
    await seeding.close();
  }
  const child = spawn(
    process.execPath,
    [
      '--conditions=@fleece/source',
      '--import',
      'tsx',
      '--expose-gc',
      // Extra V8/Node flags for investigating the server's memory, e.g. `--trace-gc`.
      ...(process.env.EXPORT_BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
      fileURLToPath(new URL('./lib/export-server.ts', import.meta.url)),
    ],
    {
      env: { ...process.env, EXPORT_BENCH_STORE: JSON.stringify(store) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error('the export bench server exited early');
      if (value.startsWith('{')) return JSON.parse(value) as Record<string, unknown>;
      process.stderr.write(`${value}\n`); // V8's own output, e.g. --trace-gc
    }
  };
  try {
    const { ready } = (await next()) as { ready: { url: string; cookie: string; rssMiB: number } };
    const started = performance.now();
    const res = await fetch(`${ready.url}/api/v1/export`, { headers: { cookie: ready.cookie } });
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let tail = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      bytes += chunk.length;
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4_096);
    }
    const seconds = (performance.now() - started) / 1000;
    const trailer = JSON.parse(tail.trimEnd().split('\n').at(-1)!) as { counts: { execution: number } };
    if (trailer.counts.execution !== rows) {
      throw new Error(`the export held ${trailer.counts.execution} executions, not ${rows}`);
    }
    child.stdin!.write('done\n');
    const { peakRssMiB } = (await next()) as { peakRssMiB: number };
    return { idleMiB: ready.rssMiB, peakMiB: peakRssMiB, bytes, seconds };
  } finally {
    // Wait for the server to be gone before the caller drops its database WITH (FORCE): a server still
    // closing its pool then crashed on the terminated connections ("terminating connection due to
    // administrator command").
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  }
}

function rowsFor(label: string, small: Measured, large: Measured): BenchRow[] {
  const difference = large.peakMiB - small.peakMiB;
  process.stderr.write(
    `export ${label}: ${SMALL} rows peak ${small.peakMiB.toFixed(1)} MiB (idle ${small.idleMiB.toFixed(1)}, ${(small.bytes / 2 ** 20).toFixed(1)} MiB in ${small.seconds.toFixed(1)} s); ` +
      `${LARGE} rows peak ${large.peakMiB.toFixed(1)} MiB (idle ${large.idleMiB.toFixed(1)}, ${(large.bytes / 2 ** 20).toFixed(1)} MiB in ${large.seconds.toFixed(1)} s); difference ${difference.toFixed(1)} MiB\n`,
  );
  return [
    {
      metric: `server peak RSS exporting ${LARGE.toLocaleString('en')} executions, ${label}`,
      unit: 'MiB',
      value: large.peakMiB,
      baselineName: `${SMALL.toLocaleString('en')} executions`,
      baseline: small.peakMiB,
      ratio: large.peakMiB / small.peakMiB,
    },
    {
      metric: `peak RSS difference (${LARGE.toLocaleString('en')} − ${SMALL.toLocaleString('en')} rows), ${label}`,
      unit: 'MiB',
      value: difference,
      baselineName: 'allowed',
      baseline: BOUND_MIB,
      ratio: difference / BOUND_MIB,
      target: `≤ ${BOUND_MIB} MiB`,
      met: difference <= BOUND_MIB,
    },
  ];
}

/**
 * Export memory bound (issue 7): the peak RSS of the server process while `GET /api/v1/export` streams
 * 10,000 and then 200,000 executions (256 characters of input each, seeded by bulk insert) may differ by at
 * most 64 MiB. Each size runs in a fresh server process on a store seeded beforehand by this process; the
 * server's RSS is sampled every 5 ms from the moment it has signed in and collected its garbage until the
 * download (by this process) has finished. Runs on
 * PostgreSQL (`BENCH_DATABASE_URL` or `TEST_DATABASE_URL`, a superuser URL; a database is created and
 * dropped per size) and on PGlite in a temporary directory. The server process also prints (stderr) its peak
 * heap and external memory while exporting and its RSS and heap after a forced GC at the end: equal heaps
 * after GC for both sizes mean nothing is retained per row, and a larger peak is garbage not yet collected.
 * `EXPORT_BENCH_SERVER_FLAGS` passes extra flags to the server process (e.g. `--trace-gc-nvp`: per
 * scavenge, `new_space_survived` and `promoted` show how much of each batch outlives the young generation;
 * see `CallbackQueryClient` in packages/server/src/db/client.ts for why that was most of it on PostgreSQL).
 */
const benchmark: Benchmark = {
  name: 'export',
  async run() {
    const rows: BenchRow[] = [];
    const adminUrl = benchAdminUrl();
    if (adminUrl) {
      const onPostgres = (count: number) =>
        withFreshDatabase(adminUrl, (postgres) => measure({ postgres }, count));
      rows.push(...rowsFor('PostgreSQL', await onPostgres(SMALL), await onPostgres(LARGE)));
    }
    if (process.env.EXPORT_BENCH_PGLITE !== '0') {
      const onPglite = async (count: number) => {
        const dir = await mkdtemp(join(tmpdir(), 'fleece-export-bench-'));
        try {
          return await measure({ pgliteDir: dir }, count);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      };
      rows.push(...rowsFor('embedded PGlite (on disk)', await onPglite(SMALL), await onPglite(LARGE)));
    }
    return { rows };
  },
};

export default benchmark;
