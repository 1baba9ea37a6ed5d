/** One measured figure, reported against a baseline measured in the same run. */
export interface BenchRow {
  /** What was measured, e.g. `GET /api/health req/s`. */
  metric: string;
  value: number;
  /** What the baseline was, e.g. `bare Fastify`. */
  baselineName: string;
  baseline: number;
  /** value / baseline. */
  ratio: number;
  /** The target, in words, e.g. `ratio ≥ 0.5`. */
  target?: string;
  /** Whether the target was met. */
  met?: boolean;
  /** Unit of value and baseline: `req/s`, `ms`, `MiB`. */
  unit: string;
}

/** A benchmark module's default export. */
export interface Benchmark {
  name: string;
  /** Runs the benchmark; skips (returns an empty list with a reason) when a needed service is absent. */
  run(): Promise<{ rows: BenchRow[]; skipped?: string }>;
}
