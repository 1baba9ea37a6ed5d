import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { backend, buildTestApp, createTestDatabase } from '../helpers/app.js';
import { exitCode, spawnServer, waitForOutput } from '../helpers/process.js';

describe('fleece-server worker', () => {
  it('is listed in the help', async () => {
    const out: string[] = [];
    expect(await main(['--help'], {}, { stdout: (l) => out.push(l), stderr: () => {} })).toBe(0);
    expect(out.join('\n')).toMatch(/^ {2}worker {4}Run only the background job workers/m);
  });

  it('runs the workers without HTTP and stops gracefully on SIGTERM', async () => {
    const db = backend === 'postgres' ? await createTestDatabase() : undefined;
    try {
      const child = spawnServer(['worker'], {
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        ...(db ? { DATABASE_URL: db.url! } : { FLEECE_DATA_DIR: 'memory://' }),
      });
      const [line] = await waitForOutput(child, /Fleece worker is running[^\n]*/);
      expect(line).toMatch(/queues: /);
      expect(child.output()).not.toContain('listening');
      child.kill('SIGTERM');
      expect(await exitCode(child)).toBe(0);
      expect(child.output()).toContain('worker shutting down: finishing running jobs');
      expect(child.output()).toContain('worker stopped');
    } finally {
      await db?.destroy();
    }
  });
});

describe.runIf(backend === 'postgres')('cron schedules with two workers', () => {
  it('fire one job per occurrence, whichever instance gets there first', async () => {
    const db = await createTestDatabase();
    const env = {
      FLEECE_WORKERS: 'inline',
      FLEECE_SCHEDULE_CHECK_SECONDS: '1',
      FLEECE_WORKER_POLL_SECONDS: '1',
    };
    const calls: string[] = [];
    let first!: () => void;
    const fired = new Promise<void>((resolve) => {
      first = resolve;
    });
    const apps = [await buildTestApp({ db, env }), await buildTestApp({ db, env })];
    try {
      apps.forEach((t, i) => {
        t.app.jobs.register('test.tick', async () => {
          calls.push(`app${i}`);
          first();
        });
      });
      await Promise.all(apps.map((t) => t.app.ready()));
      // Every minute: the current minute's occurrence is always inside pg-boss's one-minute due window.
      await apps[0]!.app.jobs.schedule('test.tick', '* * * * *');
      await fired;
      // Let both instances make at least two more cron passes after the first job was sent.
      const passes = async () =>
        (await db.ownerQuery<{ at: Date }>('select cron_on as at from pgboss.version'))[0]!.at.getTime();
      const after = await passes();
      await vi.waitFor(async () => expect(await passes()).toBeGreaterThan(after + 1500), {
        timeout: 20_000,
        interval: 200,
      });
      const [jobs] = await db.ownerQuery<{ jobs: number; minutes: number }>(
        `select count(*)::int as jobs, count(distinct date_trunc('minute', created_on))::int as minutes
           from pgboss.job where name = 'test.tick'`,
      );
      // One job per minute that came due (two when the test straddled a minute), never a duplicate.
      expect(jobs!.jobs).toBe(jobs!.minutes);
      await vi.waitFor(() => expect(calls).toHaveLength(jobs!.jobs), { timeout: 10_000, interval: 100 });
    } finally {
      for (const t of apps) await t.app.close();
      await db.destroy();
    }
  });
});
