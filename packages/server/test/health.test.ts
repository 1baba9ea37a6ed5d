import { HealthResponse } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { shippedMigrationCount } from '../src/db/migrate.js';
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

  it('counts uptime in whole seconds from the clock', async () => {
    t = await buildTestApp();
    t.clock.advance(65_400);
    expect((await t.app.inject('/api/health')).json().uptimeSeconds).toBe(65);
  });
});
