import type { AuditEvent } from '@fleece/sdk';
import { HttpResponse, http } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  driveClock,
  FIXED_NOW,
  observeSleeps,
  problem,
  restoreClockAfterEach,
  until,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { storeCredentials } from '../credentials.js';
import { oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };
const SUBJECT = `sub_${'b'.repeat(32)}`;

function auditEvent(n: number, action: string, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `evt_${n}`,
    occurredAt: `2026-03-01T11:00:${String(n).padStart(2, '0')}.123Z`,
    chain: SUBJECT,
    actor: { type: 'api_key', subject: SUBJECT, apiKeyId: 'key_1' },
    action,
    resourceType: 'api_key',
    resourceId: 'key_9',
    outcome: 'success',
    metadata: {},
    ip: '203.0.113.7',
    userAgent: 'fleece-cli',
    requestId: `req_${n}`,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
    ...extra,
  };
}

const E1 = auditEvent(1, 'auth.signed_in', {
  actor: { type: 'user', subject: SUBJECT, apiKeyId: null },
  resourceType: 'session',
  resourceId: null,
  ip: null,
});
const E2 = auditEvent(2, 'api_key.created');
const E3 = auditEvent(3, 'agent.created', { resourceType: 'agent', resourceId: 'agt_1' });
const E4 = auditEvent(4, 'api_key.revoked');

const line = (e: AuditEvent) =>
  `${e.occurredAt.slice(0, 19).replace('T', ' ')}Z\t${e.id}\t${e.action}\t${e.outcome}\t${
    e.resourceId ? `${e.resourceType}:${e.resourceId}` : e.resourceType
  }\t${e.actor.apiKeyId ? `API key ${e.actor.apiKeyId}` : 'you'}\t${e.ip ?? '-'}`;

const frame = (e: AuditEvent) => `id: ${e.id}\nevent: audit.event\ndata: ${JSON.stringify(e)}\n\n`;

describe('fleece audit list', () => {
  it('names the actor in the words of the settings page (you, API key key_…, admin sub_…, anonymous, system)', async () => {
    const OTHER = `sub_${'c'.repeat(32)}`;
    const events = [
      E1,
      E2,
      auditEvent(5, 'admin.plan_overridden', { actor: { type: 'admin', subject: OTHER, apiKeyId: null } }),
      auditEvent(6, 'auth.login.failed', { actor: { type: 'user', subject: null, apiKeyId: null } }),
      auditEvent(7, 'account.deleted', { actor: { type: 'system', subject: null, apiKeyId: null } }),
    ];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () =>
        HttpResponse.json({ data: events, nextCursor: null }),
      ),
    );
    const result = await runCli(['audit', 'list'], { env });
    expect(result.exitCode).toBe(0);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[5]),
    ).toEqual(['you', 'API key key_1', `admin ${OTHER}`, 'anonymous', 'system']);
  });

  it('prints one line per event and sends the filters, ages turned into times', async () => {
    const searches: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, ({ request }) => {
        searches.push(new URL(request.url).search);
        return HttpResponse.json({ data: [E4, E2], nextCursor: 'cur_2' });
      }),
    );
    useFakeClock(FIXED_NOW);
    const result = await runCli(
      ['audit', 'list', '--action', 'api_key.', '--since', '2h', '--until', '2026-03-02', '--limit', '2'],
      { env },
    );
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: `${line(E4)}\n${line(E2)}\n`,
      stderr: 'More events exist: add --cursor cur_2 to see the next page.\n',
    });
    expect(searches).toEqual([
      '?limit=2&action=api_key.&since=2026-03-01T10%3A00%3A00.000Z&until=2026-03-02T00%3A00%3A00Z',
    ]);
  });

  it('prints the page as JSON with --json', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () => HttpResponse.json({ data: [E1], nextCursor: null })),
    );
    const result = await runCli(['audit', 'list', '--json'], { env });
    expect(JSON.parse(result.stdout)).toEqual({ data: [E1], nextCursor: null });
  });

  it.each([
    [['--since', 'yesterday'], 'Invalid --since "yesterday".'],
    [['--until', '2026-13-40'], 'Invalid --until "2026-13-40".'],
    [['--action', 'API_KEY'], 'Invalid --action "API_KEY".'],
    [['--limit', '0'], 'Invalid --limit "0".'],
  ])('exits 2 before sending anything for %j', async (flags, message) => {
    const result = await runCli(['audit', 'list', ...flags], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`error: ${message}`);
  });

  it('exits 4 when the API key lacks the audit:read scope', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () =>
        problem(403, 'insufficient_scope', { detail: 'This API key lacks the audit:read scope.' }),
      ),
    );
    const result = await runCli(['audit', 'list'], { env });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('error: This API key lacks the audit:read scope.\n');
  });
});

describe('fleece audit tail', () => {
  it('prints the latest events oldest first and exits without --follow', async () => {
    const searches: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, ({ request }) => {
        searches.push(new URL(request.url).search);
        return HttpResponse.json({ data: [E4, E3, E2], nextCursor: 'more' });
      }),
    );
    const result = await runCli(['audit', 'tail', '-n', '3'], { env });
    expect(result).toMatchObject({ exitCode: 0, stdout: `${[E2, E3, E4].map(line).join('\n')}\n` });
    expect(searches).toEqual(['?limit=3']);
  });

  it('follows from the last event printed, resumes a dropped connection with no gap, and prints NDJSON', async () => {
    useFakeClock(FIXED_NOW);
    const lastEventIds: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () => HttpResponse.json({ data: [E2], nextCursor: null })),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        const last = request.headers.get('last-event-id');
        lastEventIds.push(last);
        // The first connection drops after E3 (E4 was not sent yet); the server replays after the id given.
        const events = last === 'evt_2' ? [E3] : [E3, E4].filter((e) => e.id > (last ?? ''));
        const body = events.map(frame).join('');
        return new HttpResponse(lastEventIds.length === 1 ? body : `${body}: ping\n\n`, {
          headers: { 'content-type': 'text/event-stream' },
        });
      }),
    );
    const controller = new AbortController();
    const run = runCli(['audit', 'tail', '--follow', '--action', 'api_key.', '-n', '1', '--json'], {
      env,
      signal: controller.signal,
    });
    let stopped = false;
    const result = driveClock(
      run.finally(() => {
        stopped = true;
      }),
    );
    // Stop it (Ctrl+C) once the third connection is open: E4 has been printed by then.
    await until(() => lastEventIds.length >= 3 || stopped);
    controller.abort(new Error('Interrupted'));
    const outcome = await result;
    expect(lastEventIds.slice(0, 2)).toEqual(['evt_2', 'evt_3']);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([E2, E4]);
    expect(outcome.stderr).toContain('Following new events (Ctrl+C to stop)…\n');
    expect(outcome.exitCode).toBe(130);
  });

  it('regression: Ctrl+C during an outage (waiting to reconnect) exits 130 at once', async () => {
    useFakeClock(FIXED_NOW);
    const sleeps = observeSleeps();
    let connections = 0;
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () => HttpResponse.json({ data: [E2], nextCursor: null })),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, () => {
        connections++;
        // The first connection delivers E3 and ends; then the server is down.
        if (connections > 1) return HttpResponse.error();
        return new HttpResponse(frame(E3), { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const controller = new AbortController();
    const run = runCli(['audit', 'tail', '--follow', '-n', '1'], { env, signal: controller.signal });
    await until(() => sleeps.pending === 1); // the backoff after the drop
    await vi.advanceTimersToNextTimerAsync();
    await until(() => connections === 2 && sleeps.pending === 1); // the reconnection failed: waiting again
    const before = Date.now();
    controller.abort(new Error('Interrupted'));
    const outcome = await run;
    expect(Date.now() - before).toBe(0);
    expect(outcome.exitCode).toBe(130);
    expect(outcome.stdout).toBe(`${line(E2)}\n${line(E3)}\n`);
    expect(connections).toBe(2);
  });

  it('exits 3, after one refused reconnection, when the server ends the tail because the key was revoked', async () => {
    useFakeClock(FIXED_NOW);
    const lastEventIds: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () => HttpResponse.json({ data: [E2], nextCursor: null })),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        lastEventIds.push(request.headers.get('last-event-id'));
        if (lastEventIds.length > 1) return problem(401, 'invalid_api_key');
        // The server's last word on a revoked key: `event: error` with the problem, then the end.
        const revoked = { status: 401, code: 'invalid_api_key', detail: 'The API key is not valid.' };
        return new HttpResponse(`${frame(E3)}event: error\ndata: ${JSON.stringify(revoked)}\n\n`, {
          headers: { 'content-type': 'text/event-stream' },
        });
      }),
    );
    const outcome = await driveClock(runCli(['audit', 'tail', '--follow', '-n', '1', '--json'], { env }));
    expect(lastEventIds).toEqual(['evt_2', 'evt_3']);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([E2, E3]);
    expect(outcome.stderr).toContain(
      `error: FLEECE_API_KEY is not valid on ${BASE_URL}: it is revoked, unknown there, or mistyped.\n` +
        'hint: Check or replace the value of FLEECE_API_KEY.\n',
    );
    expect(outcome.exitCode).toBe(3);
  });

  it('refreshes a stored login whose access token the server stopped accepting mid-tail, and resumes after the last event', async () => {
    useFakeClock(FIXED_NOW);
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    const seen: [string | null, string | null][] = [];
    const refreshes: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events`, () => HttpResponse.json({ data: [E2], nextCursor: null })),
      http.post(`${BASE_URL}/api/auth/token`, async ({ request }) => {
        refreshes.push(((await request.json()) as { refresh_token: string }).refresh_token);
        return HttpResponse.json({
          access_token: 'at_2',
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: 'rt_2',
        });
      }),
      http.get(`${BASE_URL}/api/v1/audit-events/stream`, ({ request }) => {
        const auth = request.headers.get('authorization');
        seen.push([auth, request.headers.get('last-event-id')]);
        if (auth === 'Bearer at_2') {
          return new HttpResponse(`${frame(E4)}: ping\n\n`, {
            headers: { 'content-type': 'text/event-stream' },
          });
        }
        if (seen.length > 1) return problem(401, 'unauthenticated');
        // The access token expired: the server ends the stream with its problem.
        const expired = { status: 401, code: 'unauthenticated', detail: 'The access token has expired.' };
        return new HttpResponse(`${frame(E3)}event: error\ndata: ${JSON.stringify(expired)}\n\n`, {
          headers: { 'content-type': 'text/event-stream' },
        });
      }),
    );
    const controller = new AbortController();
    let stopped = false;
    const result = driveClock(
      runCli(['audit', 'tail', '--follow', '-n', '1', '--json', '--server', BASE_URL], {
        configHome: home,
        signal: controller.signal,
      }).finally(() => {
        stopped = true;
      }),
    );
    await until(() => seen.length >= 3 || stopped);
    controller.abort(new Error('Interrupted'));
    const outcome = await result;
    expect(seen).toEqual([
      ['Bearer at_1', 'evt_2'],
      ['Bearer at_1', 'evt_3'],
      ['Bearer at_2', 'evt_3'],
    ]);
    expect(refreshes).toEqual(['rt_1']);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([E2, E3, E4]);
    expect(outcome.exitCode).toBe(130);
  });

  it('exits 2 for a bad --lines', async () => {
    const result = await runCli(['audit', 'tail', '-n', '500'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'error: Invalid --lines "500".\nhint: Give a whole number from 0 to 100.\n',
    );
  });
});

describe('fleece audit verify', () => {
  it('exits 0 and says how many events were checked when the chain is intact', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/audit-events/verify`, () =>
        HttpResponse.json({ valid: true, checked: 12 }),
      ),
    );
    const result = await runCli(['audit', 'verify'], { env });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: "✓ The audit log's hash chain is intact: 12 events checked.\n",
    });
  });

  it('exits 7 naming the first broken event when the chain was tampered with', async () => {
    const broken = { valid: false, checked: 5, firstBrokenEventId: 'evt_3', reason: 'hash_mismatch' };
    server.use(http.get(`${BASE_URL}/api/v1/audit-events/verify`, () => HttpResponse.json(broken)));
    const result = await runCli(['audit', 'verify'], { env });
    expect(result.exitCode).toBe(7);
    expect(result.stderr).toBe(
      "error: The audit log's hash chain is broken at evt_3: the event was changed after it was recorded (hash_mismatch).\n" +
        'hint: The log has been tampered with. Keep a copy (`fleece audit list --json`) and contact your administrator.\n',
    );
    const json = await runCli(['audit', 'verify', '--json'], { env });
    expect(json.exitCode).toBe(7);
    expect(JSON.parse(json.stdout)).toEqual(broken);
  });
});
