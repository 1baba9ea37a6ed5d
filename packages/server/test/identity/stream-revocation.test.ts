import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { postgresDatabase } from '../../src/db/client.js';
import { CLI_ACCESS_TOKEN_TTL_S, CLOCK_TOLERANCE_S } from '../../src/modules/identity/tokens.js';
import { LIVE_STREAM_RECHECK_MS } from '../../src/streams/credentials.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, LogCapture, type TestApp, testConfig } from '../helpers/app.js';
import { createAgent } from '../helpers/flows.js';
import { deviceTokens, signIn } from '../helpers/identity.js';
import { GatedProvider } from '../helpers/providers.js';
import { SseClient } from '../helpers/sse.js';

/**
 * Every long-lived response is tied to the credential that opened it: an SSE stream ends (a last
 * `event: error` carrying the problem, then the end of the response) once that API key, session or account
 * stops being valid, on this instance and on every other one.
 */
describe('streams end when their credential stops being valid', { timeout: 120_000 }, () => {
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

  async function start(options: Parameters<typeof buildTestApp>[0] = {}) {
    t = await buildTestApp(options);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    return { t, url, ada };
  }

  async function open(url: string, path: string, headers: Record<string, string>): Promise<SseClient> {
    const client = await SseClient.open(`${url}${path}`, headers);
    clients.push(client);
    expect(client.status).toBe(200);
    return client;
  }

  const auditStream = (url: string, headers: Record<string, string>) =>
    open(url, '/api/v1/audit-events/stream', headers);

  /** Records an event in `userId`'s log (what the stream would deliver). */
  const record = (app: TestApp['app'], userId: string, resourceId: string) =>
    app.db.transaction((tx) =>
      app.audit.record(
        tx,
        { actor: { type: 'user', userId }, ip: '192.0.2.7' },
        { action: 'agent.updated', resourceType: 'agent', resourceId, outcome: 'success' },
      ),
    );

  /** The stream's events up to its end: everything it delivered, then the `error` event. */
  async function endedWith(client: SseClient, code: string, status: number) {
    await client.ended;
    const last = client.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.id).toBeUndefined();
    expect(last.json).toMatchObject({
      type: `https://fleece.dev/problems/${code}`,
      status,
      code,
      detail: expect.any(String),
      requestId: expect.stringMatching(/^req_/),
    });
    return client.events.slice(0, -1);
  }

  const revokeKey = (tt: TestApp, user: TestUser, id: string) =>
    tt.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${id}`, headers: asSession(tt, user) });

  it('ends an audit stream opened with an API key when the key is revoked, before anything written after it', async () => {
    const { t, url, ada } = await start();
    const { key, id } = await createKey(t, ada);
    const client = await auditStream(url, bearer(key));
    await vi.waitUntil(() => t.app.liveStreams.size === 1);
    const before = await record(t.app, ada.userId, 'agt_1');
    await client.waitForEvents(1);

    expect((await revokeKey(t, ada, id)).statusCode).toBe(204);
    const delivered = await endedWith(client, 'invalid_api_key', 401);
    // The key's own revocation (with its IP and user agent) is never delivered to the revoked key.
    expect(delivered.map((e) => e.id)).toEqual([before]);
    expect(delivered.map((e) => (e.json as { action: string }).action)).not.toContain('api_key.revoked');
    await vi.waitUntil(() => t.app.liveStreams.size === 0 && t.app.audit.stream.size === 0);
    // A new request with the key gets the same problem.
    const again = await t.app.inject({ url: '/api/v1/audit-events/stream', headers: bearer(key) });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('invalid_api_key');
  });

  it('keeps the streams of other keys and users open, delivering as before', async () => {
    const { t, url, ada } = await start();
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const revoked = await createKey(t, ada, { name: 'old' });
    const kept = await createKey(t, ada, { name: 'kept' });
    const bobs = await createKey(t, bob);
    const gone = await auditStream(url, bearer(revoked.key));
    const stays = await auditStream(url, bearer(kept.key));
    const other = await auditStream(url, bearer(bobs.key));
    await vi.waitUntil(() => t.app.liveStreams.size === 3);
    expect((await revokeKey(t, ada, revoked.id)).statusCode).toBe(204);
    await endedWith(gone, 'invalid_api_key', 401);
    const later = await record(t.app, ada.userId, 'agt_2');
    const events = await stays.waitForEvents(2);
    expect(events.map((e) => (e.json as { action: string }).action)).toEqual([
      'api_key.revoked',
      'agent.updated',
    ]);
    expect(events[1]!.id).toBe(later);
    const bobLater = await record(t.app, bob.userId, 'agt_b');
    expect((await other.waitForEvents(1))[0]!.id).toBe(bobLater);
    expect(t.app.liveStreams.size).toBe(2);
  });

  it('ends a stream opened with the session cookie when the user signs out', async () => {
    const { t, url, ada } = await start();
    const client = await auditStream(url, { cookie: ada.cookie });
    await vi.waitUntil(() => t.app.liveStreams.size === 1);
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: asSession(t, ada) });
    expect(out.statusCode).toBeLessThan(400);
    await endedWith(client, 'unauthenticated', 401);
    await vi.waitUntil(() => t.app.liveStreams.size === 0);
  });

  it('ends a stream opened with a CLI access token when its session is revoked, and another when the token expires', async () => {
    const { t, url, ada } = await start();
    const cli = await deviceTokens(t, ada.cookie);
    const revokedLater = await auditStream(url, bearer(cli.access_token));
    const sessions = await t.app.inject({ url: '/api/v1/sessions', headers: { cookie: ada.cookie } });
    const cliSession = (sessions.json().data as { id: string; kind: string }[]).find(
      (s) => s.kind === 'cli',
    )!;
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/sessions/${cliSession.id}`,
      headers: asSession(t, ada),
    });
    expect(revoked.statusCode).toBe(204);
    await endedWith(revokedLater, 'unauthenticated', 401);

    // A fresh CLI login; its access token expires while the stream is open.
    const second = await deviceTokens(t, ada.cookie);
    const expiring = await auditStream(url, bearer(second.access_token));
    await vi.waitUntil(() => t.app.liveStreams.size === 1);
    t.clock.advance(CLI_ACCESS_TOKEN_TTL_S * 1000 - 1_000);
    await t.app.liveStreams.sweep();
    expect(t.app.liveStreams.size).toBe(1);
    // Past its expiry and the verifier's clock tolerance.
    t.clock.advance(1_000 + CLOCK_TOLERANCE_S * 1000 + 1);
    await t.app.liveStreams.sweep();
    const delivered = await endedWith(expiring, 'unauthenticated', 401);
    expect(delivered).toEqual([]);
    expect((expiring.events.at(-1)!.json as { detail: string }).detail).toMatch(/expired/);
  });

  it('re-checks every stream each 15 s: a key that expires while streaming ends its stream', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { t, url, ada } = await start();
    const expiresAt = new Date(t.clock.now().getTime() + 60_000).toISOString();
    const { key } = await createKey(t, ada, { name: 'short', expiresIn: expiresAt });
    const client = await auditStream(url, bearer(key));
    await vi.waitUntil(() => t.app.liveStreams.size === 1);
    t.clock.advance(61_000);
    vi.advanceTimersByTime(LIVE_STREAM_RECHECK_MS);
    await endedWith(client, 'api_key_expired', 401);
  });

  it('ends every stream of an account scheduled for deletion', async () => {
    const { t, url, ada } = await start();
    const { key } = await createKey(t, ada);
    const byKey = await auditStream(url, bearer(key));
    const bySession = await auditStream(url, { cookie: ada.cookie });
    const fresh = await signIn(t, ada.email);
    await vi.waitUntil(() => t.app.liveStreams.size === 2);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/account/deletion',
      headers: asSession(t, { ...ada, cookie: fresh }),
    });
    expect(res.statusCode, res.body).toBe(202);
    await endedWith(byKey, 'invalid_api_key', 401);
    await endedWith(bySession, 'unauthenticated', 401);
    expect(t.app.liveStreams.size).toBe(0);
  });

  it('ends the stream of a key a plan downgrade disabled (403 api_key_disabled), and no other', async () => {
    const { t, url } = await start({ env: { FLEECE_ADMIN_EMAILS: 'root@example.test' } });
    const admin = await userOnPlan(t, 'root@example.test', 'business');
    const user = await userOnPlan(t, 'shrink@example.test', 'business');
    const keys: { key: string; id: string }[] = [];
    for (let i = 0; i < 6; i++) {
      t.clock.advance(1_000);
      keys.push(await createKey(t, user, { name: `k${i}` }));
    }
    const newest = await auditStream(url, bearer(keys[5]!.key));
    const oldest = await auditStream(url, bearer(keys[0]!.key));
    const adminTail = await open(url, '/api/v1/admin/audit-events/stream', { cookie: admin.cookie });
    await vi.waitUntil(() => t.app.liveStreams.size === 3);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/users/${user.userId}`,
      headers: asSession(t, admin),
      payload: { plan: 'pro' },
    });
    expect(res.statusCode, res.body).toBe(200);
    await endedWith(newest, 'api_key_disabled', 403);
    // The admin's own stream and the user's older key go on, and see what followed.
    const later = await record(t.app, user.userId, 'agt_after');
    await vi.waitUntil(() => oldest.events.some((e) => e.id === later), { timeout: 20_000 });
    await vi.waitUntil(() => adminTail.events.some((e) => e.id === later), { timeout: 20_000 });
    expect(t.app.liveStreams.size).toBe(2);
  });

  it('ends an execution events stream when its key is revoked, without cancelling the execution', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    const { t, url, ada } = await start({ providers: { mock: provider } });
    const agent = await createAgent(t, ada, { name: 'Helper' });
    const pending = t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agent.id}/execute`,
      headers: asSession(t, ada),
      payload: { input: 'long' },
    });
    await provider.started;
    const executionId = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    const { key, id } = await createKey(t, ada);
    const client = await open(url, `/api/v1/executions/${executionId}/events`, bearer(key));
    await client.waitForEvents(2);
    expect((await revokeKey(t, ada, id)).statusCode).toBe(204);
    const delivered = await endedWith(client, 'invalid_api_key', 401);
    expect(delivered.map((e) => e.event)).toEqual(['execution.started', 'output.delta']);
    provider.release();
    const done = await pending;
    expect(done.statusCode, done.body).toBe(201);
    expect(done.json().status).toBe('succeeded');
    expect(provider.aborted).toBe(0);
  });

  it('ends a streamed chat reply when its key is revoked; the reply goes on and is stored', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    const { t, url, ada } = await start({ providers: { mock: provider } });
    const { key, id } = await createKey(t, ada);
    const client = await SseClient.open(
      `${url}/api/v1/chat`,
      { ...bearer(key), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ message: 'Hi', stream: true }) },
    );
    clients.push(client);
    await client.waitForEvents(2);
    const { conversationId } = client.events[0]!.json as { conversationId: string };
    expect((await revokeKey(t, ada, id)).statusCode).toBe(204);
    const delivered = await endedWith(client, 'invalid_api_key', 401);
    expect(delivered.map((e) => e.event)).toEqual(['conversation', 'message.delta']);
    provider.release();
    // The owner resumes it with a valid credential and gets the rest.
    const resumed = await open(url, `/api/v1/conversations/${conversationId}/stream`, {
      cookie: ada.cookie,
      'last-event-id': '2',
    });
    await resumed.ended;
    expect(resumed.events.map((e) => [e.id, e.event])).toEqual([
      ['3', 'message.delta'],
      ['4', 'message.completed'],
      ['5', 'done'],
    ]);
    expect(provider.aborted).toBe(0);
    const got = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(got.json().messages.map((m: { content: string }) => m.content)).toEqual(['Hi', 'Hello world.']);
  });

  it.runIf(backend === 'postgres')(
    'ends a stream on instance B when the key is revoked through instance A (two apps, one PostgreSQL)',
    async () => {
      const { t, ada } = await start();
      const other = postgresDatabase(t.db.url!, 3);
      const b = await buildApp(testConfig(), {
        database: other,
        clock: t.clock,
        logStream: new LogCapture(),
      });
      const urlB = await b.listen({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => b.close());
      const { key, id } = await createKey(t, ada);
      const onB = await auditStream(urlB, bearer(key));
      await vi.waitUntil(() => b.liveStreams.size === 1);
      const before = await record(t.app, ada.userId, 'agt_1');
      await onB.waitForEvents(1);
      expect((await revokeKey(t, ada, id)).statusCode).toBe(204);
      const delivered = await endedWith(onB, 'invalid_api_key', 401);
      expect(delivered.map((e) => e.id)).toEqual([before]);
      await vi.waitUntil(() => b.liveStreams.size === 0 && b.audit.stream.size === 0);
    },
  );
});
