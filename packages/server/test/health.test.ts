import { HealthResponse, JOB_QUEUE_LAG_LIMIT_SECONDS } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { shippedMigrationCount } from '../src/db/migrate.js';
import { FLOW_RUN_JOB } from '../src/modules/flows/service.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

describe('GET /api/health (claims C12, C24, C33)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('reports ok with database latency and migration counts', async () => {
    t = await buildTestApp();
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    const body = HealthResponse.parse(res.json());
    expect(Object.keys(res.json()).sort()).toEqual([
      'checks',
      'service',
      'status',
      'uptimeSeconds',
      'version',
    ]);
    // How the CLI and SDK tell a Fleece server from another web app on the port.
    expect(res.json().service).toBe('fleece');
    expect(body.status).toBe('ok');
    expect(body.version).toBe('0.1.0');
    expect(body.checks.database.status).toBe('ok');
    expect(body.checks.database.latencyMs).toBeGreaterThanOrEqual(0);
    // Every migration this build ships is applied (the count grows with each feature's migrations).
    expect(body.checks.migrations).toEqual({ status: 'ok', applied: shippedMigrationCount(), pending: 0 });
  });

  it('leaks no host, connection string or secret', async () => {
    t = await buildTestApp();
    const text = (await t.app.inject('/api/health')).body;
    for (const leak of [
      '127.0.0.1',
      'localhost',
      'postgres',
      'memory://',
      'fleece-development-secret',
      process.env.TEST_DATABASE_URL ?? 'no-url',
    ]) {
      expect(text).not.toContain(leak);
    }
  });

  it('reuses one result for up to 1 s, then probes again', async () => {
    t = await buildTestApp();
    const first = (await t.app.inject('/api/health')).json();
    await t.db.database.close();
    // Within the cache window the database outage is not yet seen.
    t.clock.advance(999);
    expect((await t.app.inject('/api/health')).json()).toEqual(first);
    t.clock.advance(1);
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(503);
  });

  it('answers 503 down when the database is unreachable', async () => {
    t = await buildTestApp();
    await t.db.database.close();
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'down',
      checks: {
        database: { status: 'down', latencyMs: null },
        migrations: { status: 'down', applied: null, pending: null },
      },
    });
  });

  it('is exempt from rate limiting: load balancers may poll it past the default /api/ limit', async () => {
    t = await buildTestApp({ env: { FLEECE_RATE_LIMIT_PER_MINUTE: '3' } });
    for (let i = 0; i < 10; i++) {
      const res = await t.app.inject({ url: '/api/health', remoteAddress: '203.0.113.9' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    // Other /api/ routes keep the default limit.
    const limited: number[] = [];
    for (let i = 0; i < 4; i++)
      limited.push((await t.app.inject({ url: '/api/v1/me', remoteAddress: '203.0.113.9' })).statusCode);
    expect(limited).toEqual([401, 401, 401, 429]);
  });

  it('reports the job queue: no worker here or elsewhere, nothing waiting', async () => {
    t = await buildTestApp();
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ok');
    expect(res.json().checks.jobs).toEqual({
      status: 'ok',
      workersHere: false,
      workersAlive: 0,
      oldestQueuedSeconds: null,
      lagLimitSeconds: 120,
    });
  });

  it('counts live instances running workers from the registry, and not one whose heartbeat stopped', async () => {
    t = await buildTestApp({ env: { FLEECE_WORKERS: 'inline' } });
    expect((await t.app.inject('/api/health')).json().checks.jobs).toMatchObject({
      status: 'ok',
      workersHere: true,
      workersAlive: 1,
    });
    // Silent for longer than three heartbeats (pg-boss's rule for a live instance): no longer counted.
    await t.db.ownerQuery(
      "update pgboss.instance set heartbeat_on = now() - (heartbeat_seconds * 3 + 1) * interval '1 second'",
    );
    t.clock.advance(1_000);
    expect((await t.app.inject('/api/health')).json().checks.jobs).toMatchObject({
      status: 'ok',
      workersHere: true,
      workersAlive: 0,
    });
  });

  it('is degraded once a due job has waited the lag limit (120 s), counting from when it became due', async () => {
    t = await buildTestApp();
    expect(JOB_QUEUE_LAG_LIMIT_SECONDS).toBe(120);
    // A job due in ten minutes is not waiting yet.
    await t.app.jobs.send(FLOW_RUN_JOB, { userId: 'u', executionId: 'later' }, { startAfter: 600 });
    expect((await t.app.inject('/api/health')).json().checks.jobs.oldestQueuedSeconds).toBeNull();

    await t.app.jobs.send(FLOW_RUN_JOB, { userId: 'u', executionId: 'now' });
    const waited = async (seconds: number) => {
      await t!.db.ownerQuery(
        `update pgboss.job set start_after = now() - interval '${seconds} seconds' where data->>'executionId' = 'now'`,
      );
      t!.clock.advance(1_000); // past the health cache
      return t!.app.inject('/api/health');
    };
    const below = await waited(119);
    expect(below.statusCode).toBe(200);
    expect(below.json().status).toBe('ok');
    expect(below.json().checks.jobs).toMatchObject({ status: 'ok', oldestQueuedSeconds: 119 });

    const lagging = await waited(120);
    expect(lagging.statusCode).toBe(200);
    expect(lagging.json().status).toBe('degraded');
    expect(lagging.json().checks.jobs).toEqual({
      status: 'degraded',
      workersHere: false,
      workersAlive: 0,
      oldestQueuedSeconds: 120,
      lagLimitSeconds: 120,
    });

    // Picked up: nothing waits any more (the job fails, as its run does not exist; it is not due again).
    await t.app.jobs.runPending({ name: FLOW_RUN_JOB });
    t.clock.advance(1_000);
    expect((await t.app.inject('/api/health')).json()).toMatchObject({
      status: 'ok',
      checks: { jobs: { status: 'ok', oldestQueuedSeconds: null } },
    });
  });

  it('is degraded when the job queue cannot be read, and down with the database', async () => {
    t = await buildTestApp();
    await t.db.ownerQuery('alter table pgboss.instance rename to instance_moved');
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('degraded');
    expect(res.json().checks.jobs).toEqual({
      status: 'degraded',
      workersHere: false,
      workersAlive: null,
      oldestQueuedSeconds: null,
      lagLimitSeconds: 120,
    });
    await t.db.ownerQuery('alter table pgboss.instance_moved rename to instance');
    await t.db.database.close();
    t.clock.advance(1_000);
    const down = await t.app.inject('/api/health');
    expect(down.statusCode).toBe(503);
    expect(down.json().checks.jobs).toMatchObject({ status: 'down', workersAlive: null });
  });

  it('counts uptime in whole seconds from the clock', async () => {
    t = await buildTestApp();
    t.clock.advance(65_400);
    expect((await t.app.inject('/api/health')).json().uptimeSeconds).toBe(65);
  });
});
