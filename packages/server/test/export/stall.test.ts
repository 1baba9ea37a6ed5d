import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { exportedEvents, seedUserExecutions, stoppedExport } from '../helpers/export.js';

/**
 * Security review (HIGH): a client that keeps an export's connection open but never reads must not hold a
 * database connection. A small stall timeout (200 ms) stands in for the 30 s default; the test waits on
 * events (the client's socket closing), never on a sleep.
 */
describe('data export: stalled clients and the concurrency cap', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({
      env: { FLEECE_EXPORT_STALL_TIMEOUT_MS: '200', FLEECE_EXPORT_CONCURRENCY: '1' },
    });
  });
  afterEach(() => t.close());

  /** Idle-in-transaction sessions of this test's database (PostgreSQL only). */
  const idleInTransaction = async () =>
    Number(
      (
        await t.db.ownerQuery<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and state like 'idle in transaction%'`,
        )
      )[0]!.n,
    );

  it('aborts a paused client, returns its connection, serves others meanwhile; a second export gets 503 export_busy', {
    timeout: 120_000,
  }, async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    await seedUserExecutions(t, ada, 1_500, { inputBytes: 4_096 });
    const baseline = backend === 'postgres' ? await idleInTransaction() : 0;
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;

    // Ada starts an export and stops reading after the headers.
    let received = 0;
    let req!: http.ClientRequest;
    let response!: http.IncomingMessage;
    let tail = '';
    const closed = new Promise<void>((resolve) => {
      req = http.get({
        host: '127.0.0.1',
        port,
        path: '/api/v1/export',
        headers: { cookie: ada.cookie },
      });
      req.on('error', () => {});
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        res.on('error', () => {});
        response = res;
        res.on('data', (c: Buffer) => {
          received += c.length;
          tail = (tail + c.toString('latin1')).slice(-200);
        });
        res.pause();
      });
      req.on('close', () => resolve());
    });

    // While it runs, the instance's one export slot is taken: Bob is refused with the documented problem.
    await vi.waitFor(() => expect(t.app.exports.active).toBe(1));
    const busy = await fetch(`${url}/api/v1/export`, { headers: { cookie: bob.cookie } });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('30');
    expect(busy.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await busy.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      code: 'export_busy',
      status: 503,
      title: 'Export Busy',
      retryAfter: 30,
    });
    expect(String(problem.detail)).toContain('maximum of 1 data exports at once');
    // Other requests are served meanwhile.
    expect((await fetch(`${url}/api/v1/me`, { headers: { cookie: bob.cookie } })).status).toBe(200);

    // The stall timeout aborts Ada's export and the server destroys her response. (Her paused socket does
    // not read, so it notices the end only once resumed: the server side is what is waited on.)
    await t.app.exports.settled();
    response.resume();
    await closed;
    expect(req.destroyed).toBe(true);
    // Truncated: no trailer reached her.
    expect(tail).not.toContain('"type":"trailer"');
    expect(t.app.exports.active).toBe(0);
    expect(received).toBeLessThan(1_500 * 4_096);
    const exported = await exportedEvents(t);
    expect(exported).toEqual([stoppedExport('client_stalled')]);
    // Stopped mid-stream (inside the snapshot on PostgreSQL), not after the trailer.
    expect((exported[0]!.metadata as { bytesSent: number }).bytesSent).toBeLessThan(1_500 * 4_096);
    // Its pooled connection is back: no session left idle in transaction.
    if (backend === 'postgres') expect(await idleInTransaction()).toBe(baseline);
    expect(t.logs.text).toContain('data export aborted: the client stopped reading');

    // The slot is free again: Bob's export now streams to the end.
    const next = await fetch(`${url}/api/v1/export`, { headers: { cookie: bob.cookie } });
    expect(next.status).toBe(200);
    expect((await next.text()).trimEnd().split('\n').at(-1)).toContain('"type":"trailer"');
    await t.app.exports.settled();
  });
});

describe('data export: the output failing while the export waits for it to drain', () => {
  let t: TestApp;
  beforeEach(async () => {
    // A stall timeout far beyond the test's own: only the stream's failure can end the wait in time.
    t = await buildTestApp({ env: { FLEECE_EXPORT_STALL_TIMEOUT_MS: '600000' } });
  });
  afterEach(() => t.close());

  it('ends the export at once as client_closed, not after the stall timeout', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await seedUserExecutions(t, ada, 200, { inputBytes: 4_096 });
    // An output nobody reads: the export fills it and waits for `drain`.
    const out = new PassThrough();
    out.on('error', () => {});
    const run = t.app.exports.run({ actor: { type: 'user', userId: ada.userId } }, ada.userId, out, {
      format: 'ndjson',
      signal: new AbortController().signal,
      delivered: new Promise<boolean>(() => {}),
    });
    await vi.waitFor(() => expect(out.writableNeedDrain).toBe(true));
    out.destroy(new Error('connection reset by peer'));
    await run;
    expect(t.app.exports.active).toBe(0);
    const exported = await exportedEvents(t);
    expect(exported).toEqual([stoppedExport('client_closed')]);
  });
});
