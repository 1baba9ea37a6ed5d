/**
 * The statistics of bench/gateway.bench.ts, kept free of I/O so they can be tested: rounds in which every
 * path runs, in an order that rotates from round to round, summarised as the median of the round medians
 * and as added latency measured against the baseline within each round.
 */

/**
 * The median of `values`: the middle value, or the mean of the two middle values for an even count.
 *
 * @throws {RangeError} when `values` is empty.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('the median of no values');
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The order the paths run in during round `round` (0-based): `paths` rotated left by `round` places, so
 * that over as many rounds as there are paths each path runs in every position once, and neither a warm
 * cache nor a busy neighbour favours one path throughout.
 */
export function rotation<T>(paths: readonly T[], round: number): T[] {
  const shift = paths.length === 0 ? 0 : round % paths.length;
  return [...paths.slice(shift), ...paths.slice(0, shift)];
}

/** One round's samples: for each path, the latencies of its calls in that round, in ms. */
export type RoundSamples<P extends string> = Readonly<Record<P, readonly number[]>>;

/** What one path cost over all rounds, in ms. */
export interface PathFigures {
  /** The median over rounds of the path's median in each round. */
  latency: number;
  /**
   * The median over rounds of (the path's median − the baseline's median in the same round): what the path
   * adds to the baseline, with drift between rounds (another process, a frequency change) cancelled.
   */
  added: number;
}

/**
 * Summarises `rounds` for every path: its median of round medians and its added latency over the path
 * named `baseline` (whose own added latency is 0).
 *
 * @throws {RangeError} when there are no rounds, or a round has no sample of a path.
 */
export function summarise<P extends string>(
  rounds: readonly RoundSamples<P>[],
  baseline: NoInfer<P>,
): Record<P, PathFigures> {
  if (rounds.length === 0) throw new RangeError('no rounds to summarise');
  const paths = Object.keys(rounds[0]!) as P[];
  const medians = rounds.map((round) =>
    Object.fromEntries(paths.map((path) => [path, median(round[path])])),
  ) as Record<P, number>[];
  return Object.fromEntries(
    paths.map((path) => [
      path,
      {
        latency: median(medians.map((m) => m[path])),
        added: median(medians.map((m) => m[path] - m[baseline])),
      },
    ]),
  ) as Record<P, PathFigures>;
}
