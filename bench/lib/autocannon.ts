import autocannon from 'autocannon';

/** Seconds each load phase lasts; `BENCH_DURATION` overrides (default 5). */
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);

/** Summary of one autocannon run: mean throughput and latency percentiles in ms. */
export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * Runs autocannon in-process against `url` for {@link DURATION_S} seconds with `connections` concurrent
 * connections (default 50) and the given headers.
 */
export async function load(
  url: string,
  options: { connections?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections ?? 50,
    duration: DURATION_S,
    headers: options.headers,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
