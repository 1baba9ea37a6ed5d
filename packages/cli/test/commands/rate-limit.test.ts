import { join } from 'node:path';
import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AGENT_ID,
  BASE_URL,
  executionBody,
  FIXED_NOW,
  meBody,
  problem,
  until,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { limitLabel, parseMaxWait, routeWindowMs, waitFlag, waitText } from '../../src/lib/rate-limit.js';
import { plain, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();
afterEach(() => {
  vi.useRealTimers();
});

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };
const AGENT = AGENT_ID;
const EXECUTION = executionBody();

/** A 429 as the server's rate-limit plugin sends it (packages/server/src/plugins/rate-limit.ts). */
function limited(seconds: number, max: number): Response {
  return problem(
    429,
    'rate_limited',
    { detail: `Too many requests. Try again in ${seconds} seconds.` },
    {
      'retry-after': String(seconds),
      'x-ratelimit-limit': String(max),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(seconds),
    },
  );
}

/** Answers the execute route with `first`, then with the execution; records when each request came. */
function executeRoute(first: () => Response) {
  const at: number[] = [];
  server.use(
    http.post(`${BASE_URL}/api/v1/agents/${AGENT}/execute`, () => {
      at.push(Date.now());
      return at.length === 1 ? first() : HttpResponse.json(EXECUTION, { status: 201 });
    }),
  );
  return at;
}

describe('rate limits on a terminal', () => {
  it('shows "rate limited (10/min) — retrying in 42 s", counts down each second, then retries', async () => {
    useFakeClock(FIXED_NOW);
    const start = Date.now();
    const at = executeRoute(() => limited(42, 10));
    let stderrSeen = '';
    const run = runCli(['agents', 'run', AGENT, 'Hello'], {
      env,
      tty: true,
      onStderr: (chunk) => {
        stderrSeen += chunk;
      },
    });
    await until(() => plain(stderrSeen).includes('rate limited (10/min) — retrying in 42 s'));
    expect(at).toEqual([start]);
    await vi.advanceTimersByTimeAsync(1000);
    await until(() => plain(stderrSeen).includes('retrying in 41 s'));
    await vi.advanceTimersByTimeAsync(30_000);
    await until(() => plain(stderrSeen).includes('retrying in 11 s'));
    expect(at).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(11_000);
    const result = await run;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('Hi there.\n');
    expect(at).toEqual([start, start + 42_000]);
  });

  it('Ctrl+C during the countdown exits 130 at once, without retrying', async () => {
    useFakeClock(FIXED_NOW);
    const at = executeRoute(() => limited(42, 10));
    const controller = new AbortController();
    let stderrSeen = '';
    const run = runCli(['agents', 'run', AGENT, 'Hello'], {
      env,
      tty: true,
      signal: controller.signal,
      onStderr: (chunk) => {
        stderrSeen += chunk;
      },
    });
    await until(() => plain(stderrSeen).includes('retrying in 42 s'));
    controller.abort(new Error('Interrupted'));
    const result = await run;
    expect(result.exitCode).toBe(130);
    expect(at).toHaveLength(1);
  });

  it('does not count down beyond 5 minutes (the terminal default): exits 5 at once with the reset time', async () => {
    useFakeClock(FIXED_NOW);
    const at = executeRoute(() => limited(1800, 10));
    const result = await runCli(['agents', 'run', AGENT, 'Hello'], { env, tty: true });
    expect(result.exitCode).toBe(5);
    expect(at).toHaveLength(1);
    // 1800 s beyond a per-minute route's window: the plan's daily limit was hit.
    expect(plain(result.stderr)).toContain(
      'error: Rate limited (10/day) by http://fleece.test: the limit resets at 2026-03-01T12:30:00Z (in 30 min).\n' +
        'hint: Run the command again after that, or pass --max-wait 30m to let fleece wait for it.\n' +
        'request id: req_rate_limited\n',
    );
  });
});

describe('rate limits without a terminal', () => {
  it('waits when Retry-After fits in --max-wait (default 10 s), saying so once, then retries', async () => {
    useFakeClock(FIXED_NOW);
    const start = Date.now();
    const at = executeRoute(() => limited(7, 10));
    let stderrSeen = '';
    const run = runCli(['agents', 'run', AGENT, 'Hello'], {
      env,
      onStderr: (chunk) => {
        stderrSeen += chunk;
      },
    });
    await until(() => stderrSeen.includes('retrying'));
    await vi.advanceTimersByTimeAsync(7_000);
    const result = await run;
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: 'Hi there.\n',
      stderr: 'rate limited (10/min) — retrying in 7 s\n',
    });
    expect(at).toEqual([start, start + 7_000]);
  });

  it('exits 5 at once when the wait is longer than --max-wait, naming the limit and when it resets', async () => {
    useFakeClock(FIXED_NOW);
    const at = executeRoute(() => limited(42, 10));
    const result = await runCli(['agents', 'run', AGENT, 'Hello'], { env });
    expect(at).toHaveLength(1);
    expect(result).toMatchObject({
      exitCode: 5,
      stdout: '',
      stderr:
        'error: Rate limited (10/min) by http://fleece.test: the limit resets at 2026-03-01T12:00:42Z (in 42 s).\n' +
        'hint: Run the command again after that, or pass --max-wait 42s to let fleece wait for it.\n' +
        'request id: req_rate_limited\n',
    });
  });

  it('--max-wait 1m waits for a 42 s limit; --max-wait 0 never waits', async () => {
    useFakeClock(FIXED_NOW);
    const start = Date.now();
    const at = executeRoute(() => limited(42, 10));
    const run = runCli(['agents', 'run', AGENT, 'Hello', '--max-wait', '1m'], { env });
    await until(() => at.length === 1);
    await vi.advanceTimersByTimeAsync(42_000);
    expect((await run).exitCode).toBe(0);
    expect(at).toEqual([start, start + 42_000]);

    server.resetHandlers();
    const again = executeRoute(() => limited(1, 10));
    const never = await runCli(['--max-wait', '0', 'agents', 'run', AGENT, 'Hello'], { env });
    expect(never.exitCode).toBe(5);
    expect(again).toHaveLength(1);
  });

  it('names the hour window of the export limit (5/h)', async () => {
    useFakeClock(FIXED_NOW);
    server.use(http.get(`${BASE_URL}/api/v1/export`, () => limited(1200, 5)));
    const dir = await tempConfigHome();
    const result = await runCli(['export', '-o', join(dir, 'out.ndjson')], { env });
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain(
      'error: Rate limited (5/h) by http://fleece.test: the limit resets at 2026-03-01T12:20:00Z (in 20 min).\n',
    );
  });

  it('exits 2 on a --max-wait that is not a duration, before any request', async () => {
    let requests = 0;
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, () => {
        requests++;
        return HttpResponse.json(meBody());
      }),
    );
    const result = await runCli(['whoami', '--max-wait', 'soon'], { env });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Invalid --max-wait "soon".\n' +
        'hint: Give a duration such as 10s, 2m or 90 (seconds), at most 24h; 0 never waits.\n',
    });
    expect(requests).toBe(0);
  });
});

describe('rate-limit helpers', () => {
  it('parses --max-wait durations', () => {
    expect(parseMaxWait(undefined)).toBeUndefined();
    expect(parseMaxWait('10s')).toBe(10_000);
    expect(parseMaxWait('2m')).toBe(120_000);
    expect(parseMaxWait('90')).toBe(90_000);
    expect(parseMaxWait('0')).toBe(0);
    expect(() => parseMaxWait('-1s')).toThrow('Invalid --max-wait "-1s".');
    expect(() => parseMaxWait('25h')).toThrow('Invalid --max-wait "25h".');
  });

  it('labels a limit by its route window, and a reset beyond it as the daily limit', () => {
    expect(routeWindowMs('GET', '/api/v1/export')).toBe(3_600_000);
    expect(routeWindowMs('POST', '/api/v1/flows/flw_1/trigger')).toBe(60_000);
    expect(limitLabel('10', 60_000, 42_000)).toBe('10/min');
    expect(limitLabel('5', 3_600_000, 1_200_000)).toBe('5/h');
    expect(limitLabel('5000', 60_000, 3_600_000)).toBe('5000/day');
    expect(limitLabel('10', undefined, 1000)).toBe('limit 10');
    expect(limitLabel(null, 60_000, 1000)).toBeUndefined();
  });

  it('writes waits for people and as --max-wait values', () => {
    expect(waitText(41_500)).toBe('42 s');
    expect(waitText(252_000)).toBe('4 min 12 s');
    expect(waitText(3_900_000)).toBe('1 h 5 min');
    expect(waitFlag(42_000)).toBe('42s');
    expect(waitFlag(1_800_000)).toBe('30m');
    expect(waitFlag(7_200_000)).toBe('2h');
  });
});
