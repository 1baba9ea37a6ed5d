import { AuditEvent } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { postgresDatabase } from '../../src/db/client.js';
import type { AuditContext } from '../../src/modules/audit/service.js';
import { backend, buildTestApp, LogCapture, type TestApp, testConfig } from '../helpers/app.js';
import { as, installTestAuth } from '../helpers/auth.js';
import { SseClient } from '../helpers/sse.js';

const ctx = (userId: string): AuditContext => ({ actor: { type: 'user', userId }, ip: '192.0.2.44' });

describe('GET /api/v1/audit-events/stream (Server-Sent Events)', () => {
  let t: TestApp | undefined;
  const clients: SseClient[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    vi.useRealTimers();
    for (const c of clients.splice(0)) c.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await t?.close();
    t = undefined;
  });

  async function start(): Promise<{ t: TestApp; url: string }> {
    t = await buildTestApp();
    installTestAuth(t.app);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    return { t, url };
  }

  async function open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = await SseClient.open(`${url}/api/v1/audit-events/stream`, headers);
    clients.push(client);
    return client;
  }

  const record = (app: TestApp['app'], userId: string, resourceId: string) =>
    app.db.transaction((tx) =>
      app.audit.record(tx, ctx(userId), {
        action: 'agent.updated',
        resourceType: 'agent',
        resourceId,
        outcome: 'success',
      }),
    );

  it("streams the caller's new events live, each with an id, and nobody else's", async () => {
    const { t, url } = await start();
    const client = await open(url, as('usr_s1'));
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(client.headers.get('cache-control')).toBe('no-store');
    expect(client.headers.get('x-request-id')).toMatch(/^req_/);
    expect(client.headers.get('x-content-type-options')).toBe('nosniff');

    const first = await record(t.app, 'usr_s1', 'agt_1');
    const foreign = await record(t.app, 'usr_s2', 'agt_2');
    const second = await record(t.app, 'usr_s1', 'agt_3');
    const events = await client.waitForEvents(2);
    expect(events.map((e) => [e.id, e.event])).toEqual([
      [first, 'audit.event'],
      [second, 'audit.event'],
    ]);
    const body = AuditEvent.parse(events[1]!.json);
    expect(body).toMatchObject({
      id: second,
      action: 'agent.updated',
      resourceId: 'agt_3',
      ip: '192.0.2.44',
    });
    expect(events.map((e) => e.id)).not.toContain(foreign);
  });

  it('replays what was missed after Last-Event-ID, with no gap and no duplicate', async () => {
    const { t, url } = await start();
    const before = await open(url, as('usr_r'));
    const e1 = await record(t.app, 'usr_r', 'agt_1');
    const e2 = await record(t.app, 'usr_r', 'agt_2');
    expect((await before.waitForEvents(2)).map((e) => e.id)).toEqual([e1, e2]);
    before.close();

    const e3 = await record(t.app, 'usr_r', 'agt_3');
    const e4 = await record(t.app, 'usr_r', 'agt_4');
    const after = await open(url, { ...as('usr_r'), 'last-event-id': e2 });
    expect((await after.waitForEvents(2)).map((e) => e.id)).toEqual([e3, e4]);
    const e5 = await record(t.app, 'usr_r', 'agt_5');
    expect((await after.waitForEvents(3)).map((e) => e.id)).toEqual([e3, e4, e5]);
  });

  it("answers a Last-Event-ID that is not the caller's with a full replay of the window, never another tenant's events", async () => {
    const { t, url } = await start();
    await record(t.app, 'usr_x', 'agt_old');
    t.clock.advance(25 * 60 * 60 * 1000);
    const x1 = await record(t.app, 'usr_x', 'agt_1');
    const y1 = await record(t.app, 'usr_y', 'agt_y');
    const x2 = await record(t.app, 'usr_x', 'agt_2');
    for (const lastEventId of [y1, 'evt_999999', 'garbage']) {
      const client = await open(url, { ...as('usr_x'), 'last-event-id': lastEventId });
      expect(client.status).toBe(200);
      const events = await client.waitForEvents(3);
      // The 24-hour window: x1, x2, then the audit.accessed event this stream's first opening recorded.
      expect(events.slice(0, 2).map((e) => e.id)).toEqual([x1, x2]);
      expect((events[2]!.json as AuditEvent).action).toBe('audit.accessed');
      expect(events.map((e) => e.id)).not.toContain(y1);
      client.close();
    }
  });

  it('sends a `: ping` comment every 15 s', async () => {
    const { t, url } = await start();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    // The response headers arrive once the stream (and its heartbeat timer) is registered.
    const client = await open(url, as('usr_hb'));
    expect(t.app.audit.stream.size).toBe(1);
    vi.advanceTimersByTime(14_999);
    // Writes on one connection arrive in order: had a ping been sent, it would precede this event.
    const marker = await record(t.app, 'usr_hb', 'agt_marker');
    await client.waitForEvents(1);
    expect(client.events[0]!.id).toBe(marker);
    expect(client.comments).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(await client.waitForComments(1)).toEqual(['ping']);
    vi.advanceTimersByTime(15_000);
    expect(await client.waitForComments(2)).toEqual(['ping', 'ping']);
  });

  it('stops the stream and its listener when the client disconnects', async () => {
    const { t, url } = await start();
    const client = await open(url, as('usr_bye'));
    await vi.waitUntil(() => t.app.audit.stream.size === 1);
    client.close();
    await vi.waitUntil(() => t.app.audit.stream.size === 0);
    // The instance keeps working for the next stream.
    const again = await open(url, as('usr_bye'));
    const id = await record(t.app, 'usr_bye', 'agt_1');
    expect((await again.waitForEvents(1))[0]!.id).toBe(id);
  });

  it('ends open streams when the server shuts down', async () => {
    const { t, url } = await start();
    const client = await open(url, as('usr_down'));
    await vi.waitUntil(() => t.app.audit.stream.size === 1);
    await t.app.close();
    await client.ended;
    expect(t.app.audit.stream.size).toBe(0);
  });

  it('gives admins every chain in id order on /api/v1/admin/audit-events/stream, and refuses others', async () => {
    const { t, url } = await start();
    const denied = await SseClient.open(`${url}/api/v1/admin/audit-events/stream`, as('usr_plain'));
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const admin = await SseClient.open(
      `${url}/api/v1/admin/audit-events/stream`,
      as('usr_root', { admin: true }),
    );
    clients.push(admin);
    const ids = [
      await record(t.app, 'usr_a1', 'agt_1'),
      await record(t.app, 'usr_a2', 'agt_2'),
      await record(t.app, 'usr_a1', 'agt_3'),
    ];
    expect((await admin.waitForEvents(3)).map((e) => e.id)).toEqual(ids);
  });

  it.runIf(backend === 'postgres')(
    'loses no event recorded while the listening connection was down',
    async () => {
      const { t, url } = await start();
      const client = await open(url, as('usr_lost'));
      const before = await record(t.app, 'usr_lost', 'agt_1');
      expect((await client.waitForEvents(1))[0]!.id).toBe(before);
      await t.db.ownerQuery(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'LISTEN%'",
      );
      // Recorded while nobody listens: its notification is lost; the re-read after reconnecting finds it.
      const during = await record(t.app, 'usr_lost', 'agt_2');
      expect((await client.waitForEvents(2)).map((e) => e.id)).toEqual([before, during]);
      const after = await record(t.app, 'usr_lost', 'agt_3');
      expect((await client.waitForEvents(3)).map((e) => e.id)).toEqual([before, during, after]);
    },
  );

  it.runIf(backend === 'postgres')(
    'delivers an event recorded on instance A to a stream on instance B (two apps, one PostgreSQL)',
    async () => {
      const { t, url: urlA } = await start();
      const other = postgresDatabase(t.db.url!, 3);
      const b = await buildApp(testConfig(), {
        database: other,
        clock: t.clock,
        logStream: new LogCapture(),
      });
      installTestAuth(b);
      const urlB = await b.listen({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => b.close());
      expect(urlB).not.toBe(urlA);

      const onB = await open(urlB, as('usr_ab'));
      await vi.waitUntil(() => b.audit.stream.size === 1);
      const written = [await record(t.app, 'usr_ab', 'agt_1'), await record(t.app, 'usr_ab', 'agt_2')];
      expect((await onB.waitForEvents(2)).map((e) => e.id)).toEqual(written);

      // Resuming on the other instance replays from the shared database.
      onB.close();
      const missed = await record(t.app, 'usr_ab', 'agt_3');
      const onA = await open(urlA, { ...as('usr_ab'), 'last-event-id': written[1]! });
      expect((await onA.waitForEvents(1)).map((e) => e.id)).toEqual([missed]);
    },
  );
});
