import { HttpResponse, http } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  driveClock,
  observeSleeps,
  restoreClockAfterEach,
  startServer,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../src/client.js';
import { AUDIT_STREAM_HEARTBEAT_SECONDS } from '../../src/contract/audit.js';
import {
  APIConnectionError,
  type AuditEvent,
  AuditEventStream,
  AuthenticationError,
  Fleece,
  FleeceError,
  NotFoundError,
  PermissionDeniedError,
} from '../../src/index.js';
import { mswClient, problem, watch } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const SUBJECT = `sub_${'a'.repeat(32)}`;

/** A valid audit event `evt_<n>` with `action`. */
function auditEvent(n: number, action: string): AuditEvent {
  return {
    id: `evt_${n}`,
    occurredAt: `2026-03-01T12:00:${String(n % 60).padStart(2, '0')}.000Z`,
    chain: SUBJECT,
    actor: { type: 'api_key', subject: SUBJECT, apiKeyId: 'key_1' },
    action,
    resourceType: 'api_key',
    resourceId: 'key_1',
    outcome: 'success',
    metadata: {},
    ip: '127.0.0.1',
    userAgent: 'test',
    requestId: `req_${n}`,
    prevHash: '0'.repeat(64),
    hash: String(n % 10).repeat(64),
  };
}

const EVENTS = [
  auditEvent(11, 'api_key.created'),
  auditEvent(12, 'agent.created'),
  auditEvent(13, 'api_key.revoked'),
  auditEvent(14, 'api_key.created'),
];

function frame(event: AuditEvent): string {
  return `id: ${event.id}\nevent: audit.event\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A `text/event-stream` response whose body is `chunks`, then (unless `open`) its end. */
function sseResponse(chunks: string[], ending: 'end' | 'error' | 'open' = 'end'): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (ending === 'end') controller.close();
      if (ending === 'error') controller.error(new Error('socket hang up'));
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream', 'x-request-id': 'req_stream' },
  });
}

/** Serves `GET /api/v1/audit-events?limit=1` with the newest of `events` and records the queries. */
function newestHandler(events: AuditEvent[], queries: string[] = []) {
  return http.get(`${BASE_URL}/api/v1/audit-events`, ({ request }) => {
    queries.push(new URL(request.url).search);
    return HttpResponse.json(
      { data: events.slice(-1), nextCursor: null },
      { headers: { 'x-request-id': 'req_newest' } },
    );
  });
}

describe('client.audit.list', () => {
  it('sends the filters and walks every page', async () => {
    const searches: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, ({ request }) => {
        const url = new URL(request.url);
        searches.push(url.search);
        return url.searchParams.get('cursor') === null
          ? HttpResponse.json({ data: [EVENTS[3], EVENTS[2]], nextCursor: 'c2' })
          : HttpResponse.json({ data: [EVENTS[0]], nextCursor: null });
      }),
    );
    const ids: string[] = [];
    const list = mswClient().audit.list({
      action: 'api_key.',
      since: '2026-03-01T00:00:00Z',
      until: '2026-03-02T00:00:00Z',
      limit: 2,
    });
    for await (const event of list) ids.push(event.id);
    expect(ids).toEqual(['evt_14', 'evt_13', 'evt_11']);
    expect(searches).toEqual([
      '?action=api_key.&since=2026-03-01T00%3A00%3A00Z&until=2026-03-02T00%3A00%3A00Z&limit=2',
      '?action=api_key.&since=2026-03-01T00%3A00%3A00Z&until=2026-03-02T00%3A00%3A00Z&limit=2&cursor=c2',
    ]);
  });

  it('throws PermissionDeniedError for a key without audit:read', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/audit-events`, () => problem(403, 'insufficient_scope')));
    await expect(mswClient().audit.list()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('client.audit.verify', () => {
  it('returns the verdict on the hash chain', async () => {
    const broken = { valid: false, checked: 7, firstBrokenEventId: 'evt_5', reason: 'hash_mismatch' };
    server.use(http.get(`${BASE_URL}/api/v1/audit-events/verify`, () => HttpResponse.json(broken)));
    await expect(mswClient().audit.verify()).resolves.toEqual(broken);
  });
});

describe('client.audit.stream', () => {
  it('starts after the newest event, delivers the last event without a trailing newline, and filters by action', async () => {
    const queries: string[] = [];
    const lastEventIds: (string | null)[] = [];
    server.use(
      newestHandler(EVENTS.slice(0, 1), queries),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        lastEventIds.push(request.headers.get('last-event-id'));
        const [, second, third, fourth] = EVENTS.map(frame);
        // The body ends right after the last event, without the blank line that should close it.
        return sseResponse([`: ping\n\n${second}${third}`, (fourth as string).trimEnd()]);
      }),
    );
    const stream = await mswClient().audit.stream({ action: 'api_key.' });
    expect(stream).toBeInstanceOf(AuditEventStream);
    expect(stream.requestId).toBe('req_stream');
    const received: AuditEvent[] = [];
    for await (const event of stream) {
      received.push(event);
      if (received.length === 2) break;
    }
    expect(received).toEqual([EVENTS[2], EVENTS[3]]);
    expect(stream.lastEventId).toBe('evt_14');
    expect(queries).toEqual(['?limit=1']);
    expect(lastEventIds).toEqual(['evt_11']);
  });

  it('reconnects a dropped stream with Last-Event-ID, without gap or duplicate', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const lastEventIds: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        const last = request.headers.get('last-event-id');
        lastEventIds.push(last);
        // The connection drops after two events, and again after the next one.
        if (lastEventIds.length === 1) return sseResponse(EVENTS.slice(0, 2).map(frame));
        if (lastEventIds.length === 2) return sseResponse([frame(EVENTS[2] as AuditEvent)]);
        // The server replays from the id it was given; what was delivered must not come twice.
        return sseResponse([frame(EVENTS[2] as AuditEvent), frame(EVENTS[3] as AuditEvent)], 'open');
      }),
    );
    const stream = await mswClient().audit.stream({ lastEventId: 'evt_10' });
    const collect = (async () => {
      const ids: string[] = [];
      for await (const event of stream) {
        ids.push(event.id);
        if (ids.length === 4) break;
      }
      return ids;
    })();
    const ids = await driveClock(collect, sleeps);
    expect(ids).toEqual(['evt_11', 'evt_12', 'evt_13', 'evt_14']);
    expect(lastEventIds).toEqual(['evt_10', 'evt_12', 'evt_13']);
    expect(sleeps.delays).toEqual([500, 500]);
  });

  it('gives up after maxRetries failed reconnections in a row with APIConnectionError', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    let connections = 0;
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, () => {
        connections++;
        if (connections === 1) return sseResponse([frame(EVENTS[0] as AuditEvent)]);
        return problem(503, 'unavailable');
      }),
    );
    const stream = await mswClient({ maxRetries: 2 }).audit.stream({ lastEventId: 'evt_10' });
    const outcome = driveClock(
      (async () => {
        for await (const _ of stream);
      })(),
      sleeps,
    );
    await expect(outcome).rejects.toBeInstanceOf(APIConnectionError);
    await expect(outcome).rejects.toThrow(
      'The followed stream dropped and 2 reconnection attempt(s) without progress failed; last event id evt_11',
    );
    expect(connections).toBe(3);
  });

  it('regression: a tail whose connection goes silent without closing reconnects with Last-Event-ID after idleTimeout', async () => {
    useFakeClock();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const sleeps = observeSleeps();
    // A real server: the stall is about sockets, which msw does not model. Each connection sends one
    // event and then nothing, without closing (a proxy or NAT that dropped the connection silently).
    const lastEventIds: Array<string | undefined> = [];
    const closed: number[] = [];
    const real = await startServer((req, res) => {
      lastEventIds.push(req.headers['last-event-id'] as string | undefined);
      const connection = lastEventIds.length;
      res.on('close', () => closed.push(connection));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': `req_${connection}` });
      res.write(frame(EVENTS[connection - 1] as AuditEvent));
    });
    try {
      const client = new Fleece({ baseURL: real.url, apiKey: 'flc_x', idleTimeout: 5_000 });
      const stream = await client.audit.stream({ lastEventId: 'evt_10' });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual(EVENTS[0]);
      const pending = iterator.next();
      const next = watch(pending);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(next.outcome).toBeUndefined();
      expect(lastEventIds).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await driveClock(pending, sleeps);
      expect((await pending).value).toEqual(EVENTS[1]);
      expect(sleeps.delays).toEqual([500]);
      expect(lastEventIds).toEqual(['evt_10', (EVENTS[0] as AuditEvent).id]);
      expect(closed).toEqual([1]);
      stream.abort();
    } finally {
      await real.close();
    }
  });

  it("the default idle timeout outlasts several of the server's heartbeats", () => {
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBeGreaterThanOrEqual(3 * AUDIT_STREAM_HEARTBEAT_SECONDS * 1000);
  });

  it('with follow: false, catches up from lastEventId to the newest event and ends', async () => {
    const lastEventIds: (string | null)[] = [];
    server.use(
      newestHandler(EVENTS.slice(0, 3)),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        lastEventIds.push(request.headers.get('last-event-id'));
        // evt_14 was recorded after the call: it is not part of the catch-up.
        return sseResponse(EVENTS.slice(1).map(frame), 'open');
      }),
    );
    const ids: string[] = [];
    for await (const event of await mswClient().audit.stream({ lastEventId: 'evt_11', follow: false })) {
      ids.push(event.id);
    }
    expect(ids).toEqual(['evt_12', 'evt_13']);
    expect(lastEventIds).toEqual(['evt_11']);
  });

  it('with follow: false and nothing newer, ends without opening the stream', async () => {
    server.use(newestHandler(EVENTS.slice(0, 2)));
    const stream = await mswClient().audit.stream({ lastEventId: 'evt_12', follow: false });
    const ids: string[] = [];
    for await (const event of stream) ids.push(event.id);
    expect(ids).toEqual([]);
    expect(stream.requestId).toBe('req_newest');
    expect(() => stream[Symbol.asyncIterator]()).toThrow(FleeceError);
  });

  it('ends with AuthenticationError, without reconnecting again, when the server ends the stream because the key was revoked', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const lastEventIds: (string | null)[] = [];
    const revoked = {
      type: 'https://fleece.dev/problems/invalid_api_key',
      title: 'Invalid API Key',
      status: 401,
      detail: 'The API key is not valid.',
      code: 'invalid_api_key',
      requestId: 'req_stream',
    };
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        lastEventIds.push(request.headers.get('last-event-id'));
        // The server's last word on a revoked credential: `event: error` with the problem, then the end.
        if (lastEventIds.length === 1) {
          return sseResponse([
            frame(EVENTS[0] as AuditEvent),
            `event: error\ndata: ${JSON.stringify(revoked)}\n\n`,
          ]);
        }
        return problem(401, 'invalid_api_key');
      }),
    );
    const stream = await mswClient().audit.stream({ lastEventId: 'evt_10' });
    const ids: string[] = [];
    const outcome = driveClock(
      (async () => {
        for await (const event of stream) ids.push(event.id);
      })(),
      sleeps,
    );
    await expect(outcome).rejects.toBeInstanceOf(AuthenticationError);
    await expect(outcome).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(ids).toEqual(['evt_11']);
    // One reconnection, refused: no loop.
    expect(lastEventIds).toEqual(['evt_10', 'evt_11']);
    expect(sleeps.delays).toEqual([500]);
  });

  it('rejects with the API error when the stream is refused', async () => {
    server.use(
      newestHandler(EVENTS),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, () => problem(404, 'not_found')),
    );
    await expect(mswClient({ maxRetries: 0 }).audit.stream()).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('client.sessions', () => {
  const SESSION = {
    id: 'ses_1',
    kind: 'cli',
    method: 'device',
    clientId: 'fleece-cli',
    userAgent: 'fleece-cli/0.1.0',
    ip: '127.0.0.1',
    createdAt: '2026-03-01T12:00:00.000Z',
    lastUsedAt: '2026-03-01T12:00:00.000Z',
    expiresAt: '2026-04-01T12:00:00.000Z',
    current: true,
  };

  it('lists, revokes one and revokes the others', async () => {
    const calls: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/sessions`, ({ request }) => {
        calls.push(`GET ${new URL(request.url).search}`);
        return HttpResponse.json({ data: [SESSION], nextCursor: null });
      }),
      http.delete(`${BASE_URL}/api/v1/sessions/:id`, ({ params }) => {
        calls.push(`DELETE ${params.id}`);
        return params.id === 'ses_1' ? new HttpResponse(null, { status: 204 }) : problem(404, 'not_found');
      }),
      http.delete(`${BASE_URL}/api/v1/sessions`, () => {
        calls.push('DELETE all');
        return HttpResponse.json({ revoked: 3 });
      }),
    );
    const client = mswClient();
    expect((await client.sessions.list({ limit: 5 })).data).toEqual([SESSION]);
    await client.sessions.revoke('ses_1');
    await expect(client.sessions.revoke('ses_2')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.sessions.revokeOthers()).resolves.toEqual({ revoked: 3 });
    expect(calls).toEqual(['GET ?limit=5', 'DELETE ses_1', 'DELETE ses_2', 'DELETE all']);
  });
});
