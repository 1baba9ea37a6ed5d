import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type CallPath,
  fleecePath,
  openaiPath,
  portkeyPath,
  timeFirstDelta,
  timeJson,
} from './gateway/clients.js';
import { startFleece } from './gateway/fleece.js';
import {
  ensureServerBuilt,
  portkeyVersion,
  startPortkey,
  startUpstream,
  Teardown,
} from './gateway/processes.js';
import { type RoundSamples, rotation, summarise } from './gateway/stats.js';
import { benchAdminUrl, createFreshDatabase } from './lib/database.js';
import type { Benchmark, BenchRow } from './lib/types.js';

/** A positive integer from the environment variable `name`, or `fallback`. */
function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer (got ${raw})`);
  return value;
}

/** Sequential rounds, and calls per path in each (`GATEWAY_BENCH_ROUNDS`, `GATEWAY_BENCH_CALLS`). */
const ROUNDS = knob('GATEWAY_BENCH_ROUNDS', 10);
const CALLS = knob('GATEWAY_BENCH_CALLS', 8);
/** Concurrent rounds, and calls in flight at once per path (`GATEWAY_BENCH_CONCURRENT_ROUNDS`, `…_CONCURRENCY`). */
const CONCURRENT_ROUNDS = knob('GATEWAY_BENCH_CONCURRENT_ROUNDS', 6);
const CONCURRENCY = knob('GATEWAY_BENCH_CONCURRENCY', 20);
/** Where the Fleece servers' logs are kept (`GATEWAY_BENCH_LOG_DIR`); by default they go with the run's temporary directory. */
const LOG_DIR = process.env.GATEWAY_BENCH_LOG_DIR || undefined;
/** Node flags for the Fleece servers (`GATEWAY_BENCH_SERVER_FLAGS`), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const SERVER_FLAGS = (process.env.GATEWAY_BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
/** The added latency of a streamed execution's first delta the sequential target allows, in ms. */
const STREAM_SEQUENTIAL_TARGET_MS = 3;

type Timer = (path: CallPath, i: number) => Promise<number>;
type Paths = Record<string, CallPath>;

/** Calls made so far: each call's number makes its input unique. */
let calls = 0;

/**
 * Interleaved rounds: one unmeasured round (connections, JIT, caches), then `rounds` measured ones; in each,
 * every path runs `batch` once, the paths in the order {@link rotation} gives for the round.
 */
async function interleaved(
  paths: Paths,
  rounds: number,
  batch: (path: CallPath) => Promise<number[]>,
): Promise<RoundSamples<string>[]> {
  const measured: RoundSamples<string>[] = [];
  for (let round = 0; round <= rounds; round++) {
    const samples: Record<string, number[]> = {};
    for (const name of rotation(Object.keys(paths), round)) samples[name] = await batch(paths[name]!);
    if (round > 0) measured.push(samples);
  }
  return measured;
}

/** {@link ROUNDS} sequential rounds: each path makes {@link CALLS} calls, one after another. */
const sequential = (paths: Paths, time: Timer) =>
  interleaved(paths, ROUNDS, async (path) => {
    const samples: number[] = [];
    for (let k = 0; k < CALLS; k++) samples.push(await time(path, calls++));
    return samples;
  });

/** {@link CONCURRENT_ROUNDS} concurrent rounds: each path makes {@link CONCURRENCY} calls at once. */
const concurrent = (paths: Paths, time: Timer) =>
  interleaved(paths, CONCURRENT_ROUNDS, (path) =>
    Promise.all(Array.from({ length: CONCURRENCY }, () => time(path, calls++))),
  );

/** A row of `value` ms against `baseline`; with `target`, met when `value` is at most `target.allowed`. */
function row(
  metric: string,
  value: number,
  baseline: { name: string; value: number },
  target?: { text: string; allowed: number },
): BenchRow {
  return {
    metric,
    unit: 'ms',
    value,
    baselineName: baseline.name,
    baseline: baseline.value,
    ratio: value / baseline.value,
    ...(target ? { target: target.text, met: value <= target.allowed } : {}),
  };
}

/**
 * Gateway overhead: the latency an AI gateway adds to one small chat completion, against the same call made
 * straight to the upstream in the same round. The upstream is a mock OpenAI-compatible server in its own
 * process (bench/gateway/upstream.ts: a fixed completion, JSON or streamed in three deltas, no delay); the
 * paths are the direct call, the Portkey OSS gateway (`@portkey-ai/gateway`, pinned; JSON only, as its
 * streamed path fails on Node), and Fleece's `POST /api/v1/agents/:id/execute` with an API key on the built
 * server in production configuration (bench/gateway/fleece.ts), once on PostgreSQL (a fresh database, when
 * `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` names a superuser URL) and once on embedded PGlite (on disk).
 * Every path runs in every round, in rotating order; sequential rounds report the median of round medians,
 * concurrent rounds ({@link CONCURRENCY} calls at once) the median over rounds of each batch's median, and
 * added latency is always path − direct within a round. Streams are timed to the first content delta.
 * Fleece's execute always streams from its provider, so its JSON path answers the client from a streamed
 * upstream answer, where the direct and Portkey JSON calls get one JSON object.
 */
const benchmark: Benchmark = {
  name: 'gateway',
  async run() {
    const teardown = new Teardown();
    const started = performance.now();
    const since = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
    try {
      ensureServerBuilt();
      const dir = await mkdtemp(join(tmpdir(), 'fleece-gateway-bench-'));
      teardown.defer(() => rm(dir, { recursive: true, force: true }));
      const [upstream, portkey] = await Promise.all([startUpstream(teardown), startPortkey(teardown)]);
      const adminUrl = benchAdminUrl();
      const databases: [string, { DATABASE_URL: string } | { FLEECE_DATA_DIR: string }][] = [];
      if (adminUrl) {
        const database = await createFreshDatabase(adminUrl);
        teardown.defer(database.drop);
        databases.push(['PostgreSQL', { DATABASE_URL: database.url }]);
      }
      databases.push(['PGlite', { FLEECE_DATA_DIR: join(dir, 'pglite') }]);
      // Both servers start (and migrate) at once; only the measurement needs the machine to itself.
      const servers = await Promise.all(
        databases.map(([label, database]) =>
          startFleece(teardown, {
            database,
            upstream,
            logFile: join(LOG_DIR ?? dir, `fleece-${label}.log`),
            nodeFlags: SERVER_FLAGS,
          }),
        ),
      );
      const fleece: Paths = Object.fromEntries(
        databases.map(([label], i) => [`Fleece ${label}`, fleecePath(servers[i]!)]),
      );
      const portkeyName = `Portkey ${portkeyVersion()}`;
      const direct = openaiPath(upstream);
      const json: Paths = { direct, [portkeyName]: portkeyPath(portkey, upstream), ...fleece };
      const streamed: Paths = { direct, ...fleece };
      process.stderr.write(
        `gateway: set up in ${since()}; Node ${process.version}; load average ${loadavg()[0]!.toFixed(1)} on ` +
          `${availableParallelism()} cores; ${ROUNDS} sequential rounds of ${CALLS} calls per path, ` +
          `${CONCURRENT_ROUNDS} rounds of ${CONCURRENCY} concurrent calls per path${LOG_DIR ? `; server logs kept in ${LOG_DIR}` : ''}\n`,
      );

      /** Measures one mode and prints its figures (with the time and load) on stderr. */
      const measure = async (mode: string, rounds: Promise<RoundSamples<string>[]>) => {
        const summary = summarise(await rounds, 'direct');
        const cells = Object.entries(summary).map(
          ([name, f]) =>
            `${name} ${f.latency.toFixed(2)} ms (${f.added >= 0 ? '+' : ''}${f.added.toFixed(2)})`,
        );
        process.stderr.write(
          `gateway ${mode} (at ${since()}, load ${loadavg()[0]!.toFixed(1)}): ${cells.join('; ')}\n`,
        );
        return summary;
      };
      const figures = {
        jsonSeq: await measure('JSON sequential', sequential(json, timeJson)),
        jsonConc: await measure(`JSON ${CONCURRENCY} concurrent`, concurrent(json, timeJson)),
        streamSeq: await measure('first delta sequential', sequential(streamed, timeFirstDelta)),
        streamConc: await measure(
          `first delta ${CONCURRENCY} concurrent`,
          concurrent(streamed, timeFirstDelta),
        ),
      };

      const rows: BenchRow[] = [];
      for (const [mode, jsonFigures, streamFigures] of [
        ['sequential', figures.jsonSeq, figures.streamSeq],
        [`${CONCURRENCY} concurrent`, figures.jsonConc, figures.streamConc],
      ] as const) {
        const portkeyAdded = jsonFigures[portkeyName]!.added;
        const portkeyBaseline = { name: `${portkeyName}'s JSON added latency`, value: portkeyAdded };
        rows.push(
          row(`${portkeyName}, JSON, ${mode}: added latency`, portkeyAdded, {
            name: 'direct call',
            value: jsonFigures.direct!.latency,
          }),
        );
        const streamBaseline =
          mode === 'sequential'
            ? { name: "direct call's first delta", value: streamFigures.direct!.latency }
            : portkeyBaseline;
        const streamTarget =
          mode === 'sequential'
            ? { text: `≤ +${STREAM_SEQUENTIAL_TARGET_MS} ms`, allowed: STREAM_SEQUENTIAL_TARGET_MS }
            : { text: "≤ Portkey's JSON", allowed: portkeyAdded };
        // The targets are set on PostgreSQL, the production database; PGlite's figures stand beside them.
        const jsonTarget = { text: "≤ Portkey's", allowed: portkeyAdded };
        for (const [label] of databases) {
          rows.push(
            row(
              `Fleece execute, JSON, ${mode}, ${label}: added latency`,
              jsonFigures[`Fleece ${label}`]!.added,
              portkeyBaseline,
              label === 'PostgreSQL' ? jsonTarget : undefined,
            ),
          );
        }
        for (const [label] of databases) {
          rows.push(
            row(
              `Fleece execute, streamed, ${mode}, ${label}: added time to first delta`,
              streamFigures[`Fleece ${label}`]!.added,
              streamBaseline,
              label === 'PostgreSQL' ? streamTarget : undefined,
            ),
          );
        }
      }
      return {
        rows,
        ...(adminUrl
          ? {}
          : { skipped: 'PostgreSQL (and its targets): set BENCH_DATABASE_URL or TEST_DATABASE_URL' }),
      };
    } finally {
      await teardown.run();
    }
  },
};

export default benchmark;
