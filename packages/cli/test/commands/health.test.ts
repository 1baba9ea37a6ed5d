import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  BASE_URL,
  driveClock,
  FIXED_NOW,
  healthBody,
  problem,
  restoreClockAfterEach,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const args = ['health', '--server', BASE_URL];

describe('fleece health', () => {
  it('prints the report without colour when piped', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('ok'))));
    const result = await runCli(args);
    expect(result).toMatchObject({
      exitCode: 0,
      stderr: '',
      stdout:
        'Server:      http://fleece.test\n' +
        'Status:      ok\n' +
        'Version:     0.1.0\n' +
        'Uptime:      12 s\n' +
        'Database:    ok (1.5 ms)\n' +
        'Migrations:  ok (3 applied, 0 pending)\n',
    });
  });

  it('prints the job queue check when the server sends one', async () => {
    const jobs = {
      status: 'degraded',
      workersHere: false,
      workersAlive: 2,
      oldestQueuedSeconds: 130,
      lagLimitSeconds: 120,
    };
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        HttpResponse.json({ ...healthBody('degraded'), checks: { ...healthBody('degraded').checks, jobs } }),
      ),
    );
    const result = await runCli(args);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'Migrations:  ok (3 applied, 0 pending)\n' +
        'Jobs:        degraded (2 worker instances alive; oldest job waiting 130 s of 120 s allowed)\n',
    );
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        HttpResponse.json({
          ...healthBody('ok'),
          checks: {
            ...healthBody('ok').checks,
            jobs: { ...jobs, status: 'ok', workersHere: true, workersAlive: 1, oldestQueuedSeconds: null },
          },
        }),
      ),
    );
    expect((await runCli(args)).stdout).toContain(
      'Jobs:        ok (1 worker instance alive, this one included; no job waiting)\n',
    );
  });

  it('colours the status on a terminal', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('degraded'))));
    const result = await runCli(args, { tty: true, env: { TERM: 'xterm' } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Status:      \u001b[33mdegraded\u001b[39m\n');
  });

  it.each([
    ['NO_COLOR=1', { NO_COLOR: '1' }, []],
    ['CI=true', { CI: 'true' }, []],
    ['--no-color', {}, ['--no-color']],
  ])('prints no ANSI codes on a terminal with %s', async (_name, env, flags) => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('degraded'))));
    const result = await runCli([...args, ...flags], { tty: true, env });
    expect(result.stdout).toContain('Status:      degraded\n');
    expect(result.stdout).not.toContain('\u001b');
  });

  it('colours piped output with FORCE_COLOR', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('ok'))));
    const result = await runCli(args, { env: { FORCE_COLOR: '1' } });
    expect(result.stdout).toContain('Status:      \u001b[32mok\u001b[39m\n');
  });

  it('prints a stable JSON shape with --json', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('ok'))));
    const result = await runCli([...args, '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ server: BASE_URL, ...healthBody('ok') });
  });

  it('exits 1 after the report when the server is down', async () => {
    server.use(
      http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('down'), { status: 503 })),
    );
    const result = await runCli(args);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('Status:      down\n');
    expect(result.stderr).toBe(
      'error: http://fleece.test reports that it is down.\n' +
        'hint: Check the server logs; `fleece doctor` checks the connection.\n',
    );
  });

  it('names the connection failure and what to do, with no request id (nothing reached the server)', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.error()));
    useFakeClock(FIXED_NOW);
    const result = await driveClock(runCli([...args]));
    expect(result.exitCode).toBe(1);
    const [what, hint, ...rest] = result.stderr.split('\n');
    expect(what).toMatch(/^error: Could not connect to http:\/\/fleece\.test: .+\.$/);
    expect(hint).toBe(
      'hint: Check that the server is running, and the address (--server, FLEECE_BASE_URL) and proxy settings; `fleece doctor` checks them.',
    );
    expect(rest).toEqual(['']);
    expect(result.stderr).not.toContain('request id');
    expect(result.stderr).not.toContain('    at ');
  });

  it('prints the stack trace only with --verbose', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.error()));
    useFakeClock(FIXED_NOW);
    const result = await driveClock(runCli([...args, '--verbose']));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('    at ');
    expect(result.stderr).toMatch(/GET \/api\/health → APIConnectionError after \d+ ms \(request id req_/);
  });

  it('logs the request id and timing to stderr with --verbose', async () => {
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        HttpResponse.json(healthBody('ok'), { headers: { 'x-request-id': 'req_health1' } }),
      ),
    );
    const result = await runCli([...args, '--verbose']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^GET \/api\/health → 200 in \d+ ms \(request id req_health1\)\n$/);
  });

  it('exits 5 at once when rate limited for longer than --max-wait, saying when the limit resets', async () => {
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        problem(429, 'rate_limited', { detail: 'Too many requests.' }, { 'retry-after': '120' }),
      ),
    );
    const result = await runCli(args, { now: () => Date.parse('2026-03-01T12:00:00.000Z') });
    expect(result).toMatchObject({
      exitCode: 5,
      stderr:
        'error: Rate limited by http://fleece.test: the limit resets at 2026-03-01T12:02:00Z (in 2 min).\n' +
        'hint: Run the command again after that, or pass --max-wait 2m to let fleece wait for it.\n' +
        'request id: req_rate_limited\n',
    });
  });
});
