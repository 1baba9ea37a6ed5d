import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  backend,
  buildTestApp,
  createTestDatabase,
  LogCapture,
  type TestApp,
  testConfig,
} from '../helpers/app.js';
import { runJobs } from '../helpers/jobs.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('job queue', () => {
  it('runs a sent job with its data and completes it', async () => {
    t = await buildTestApp();
    const seen: unknown[] = [];
    t.app.jobs.register<{ n: number }>('test.echo', async (data, job) => {
      seen.push({ data, name: job.name, retryCount: job.retryCount });
    });
    const id = await t.app.jobs.send('test.echo', { n: 1 });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const ran = await runJobs(t.app);
    expect(ran).toEqual([{ id, name: 'test.echo', data: { n: 1 }, outcome: 'completed' }]);
    expect(seen).toEqual([{ data: { n: 1 }, name: 'test.echo', retryCount: 0 }]);
    expect(await t.app.jobs.state('test.echo', id!)).toBe('completed');
    expect(await runJobs(t.app)).toEqual([]);
  });

  it('enqueues inside a drizzle transaction: only a committed transaction leaves a job', async () => {
    t = await buildTestApp();
    t.app.jobs.register('test.tx', async () => {});
    await t.app.ready();
    await expect(
      t.app.db.transaction(async (tx) => {
        await t!.app.jobs.send('test.tx', { v: 'rolled back' }, { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await t.app.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await t!.app.jobs.send('test.tx', { v: 'committed' }, { tx });
    });
    const ran = await runJobs(t.app, 'test.tx');
    expect(ran.map((j) => j.data)).toEqual([{ v: 'committed' }]);
  });

  it('retries a failing job up to retryLimit, with includeDelayed running the delayed retries', async () => {
    t = await buildTestApp();
    let attempts = 0;
    t.app.jobs.register(
      'test.flaky',
      async () => {
        attempts += 1;
        throw new Error(`attempt ${attempts} failed`);
      },
      { retryLimit: 2, retryDelay: 60 },
    );
    const id = await t.app.jobs.send('test.flaky', {});
    // The retry waits 60 s, so a plain run stops after the first attempt.
    expect(await runJobs(t.app, 'test.flaky')).toEqual([
      { id, name: 'test.flaky', data: {}, outcome: 'failed', error: 'attempt 1 failed' },
    ]);
    expect(await t.app.jobs.state('test.flaky', id!)).toBe('retry');
    const rest = await runJobs(t.app, 'test.flaky', { includeDelayed: true });
    expect(rest.map((j) => j.error)).toEqual(['attempt 2 failed', 'attempt 3 failed']);
    expect(await t.app.jobs.state('test.flaky', id!)).toBe('failed');
  });

  it('drops a duplicate singleton job on a short-policy queue', async () => {
    t = await buildTestApp();
    t.app.jobs.register('test.single', async () => {}, { policy: 'short' });
    const first = await t.app.jobs.send('test.single', {}, { singletonKey: 'k' });
    expect(first).not.toBeNull();
    expect(await t.app.jobs.send('test.single', {}, { singletonKey: 'k' })).toBeNull();
    expect(await runJobs(t.app)).toHaveLength(1);
  });

  it('keeps schedules in the database across an app restart, and unschedules them', async () => {
    // A real restart: PostgreSQL keeps the database; PGlite reopens its data directory.
    const dir = await mkdtemp(path.join(tmpdir(), 'fleece-jobs-'));
    const db = backend === 'postgres' ? await createTestDatabase() : undefined;
    const start = async () => {
      const app = db
        ? (await buildTestApp({ db })).app
        : await buildApp(testConfig({ FLEECE_DATA_DIR: dir }), { logStream: new LogCapture() });
      app.jobs.register('test.cron', async () => {});
      return app;
    };
    try {
      const first = await start();
      await first.jobs.schedule('test.cron', '*/5 * * * *', { hello: 'world' }, { key: 'a' });
      await expect(first.jobs.schedule('test.cron', 'not a cron', {})).rejects.toThrow();
      await first.close();
      const second = await start();
      try {
        expect(await second.jobs.schedules('test.cron')).toEqual([
          { name: 'test.cron', key: 'a', cron: '*/5 * * * *', data: { hello: 'world' } },
        ]);
        await second.jobs.unschedule('test.cron', 'a');
        expect(await second.jobs.schedules('test.cron')).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await db?.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs jobs in an inline worker and stops it with the app', async () => {
    t = await buildTestApp({ env: { FLEECE_WORKERS: 'inline' } });
    let done!: (data: unknown) => void;
    const handled = new Promise((resolve) => {
      done = resolve;
    });
    t.app.jobs.register('test.inline', async (data) => {
      done(data);
    });
    await t.app.ready();
    await t.app.jobs.send('test.inline', { via: 'worker' });
    expect(await handled).toEqual({ via: 'worker' });
  });

  it('gives the app role no DDL rights on the job schema', async () => {
    t = await buildTestApp();
    const [row] = await t.db.ownerQuery<{ create: boolean; usage: boolean }>(
      `select has_schema_privilege('fleece_app', 'pgboss', 'CREATE') as create,
              has_schema_privilege('fleece_app', 'pgboss', 'USAGE') as usage`,
    );
    expect(row).toEqual({ create: false, usage: true });
    expect(backend).toMatch(/pglite|postgres/);
  });
});
