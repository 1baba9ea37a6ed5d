import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuditEvent, nodeFetch } from '@fleece/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FIXED_NOW, observeSleeps, until, useFakeClock } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

// A real HTTP server and the CLI's own transport (`nodeFetch`, node:http), not msw: a connection that
// goes silent is about sockets.

const SUBJECT = `sub_${'c'.repeat(32)}`;

function auditEvent(n: number): AuditEvent {
  return {
    id: `evt_${n}`,
    occurredAt: `2026-03-01T11:00:0${n}.000Z`,
    chain: SUBJECT,
    actor: { type: 'api_key', subject: SUBJECT, apiKeyId: 'key_1' },
    action: 'api_key.created',
    resourceType: 'api_key',
    resourceId: 'key_9',
    outcome: 'success',
    metadata: {},
    ip: null,
    userAgent: 'fleece-cli',
    requestId: `req_${n}`,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  };
}

const frame = (e: AuditEvent) => `id: ${e.id}\nevent: audit.event\ndata: ${JSON.stringify(e)}\n\n`;

let server: Server | undefined;
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('fleece audit tail --follow on a real connection', () => {
  it('regression: a tail whose connection goes silent without closing reconnects with Last-Event-ID instead of exiting 1', async () => {
    useFakeClock(FIXED_NOW);
    const sleeps = observeSleeps();
    const events = [auditEvent(1), auditEvent(2), auditEvent(3)];
    const lastEventIds: Array<string | undefined> = [];
    const closed: number[] = [];
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/audit-events?')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: [events[0]], nextCursor: null }));
        return;
      }
      lastEventIds.push(req.headers['last-event-id'] as string | undefined);
      const connection = lastEventIds.length;
      res.on('close', () => closed.push(connection));
      // One event, then silence: no heartbeat, no close (a proxy or NAT that dropped the connection).
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame(events[connection] as AuditEvent));
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server?.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const controller = new AbortController();
    let stdout = '';
    const run = runCli(['audit', 'tail', '--follow', '-n', '1', '--json'], {
      env: { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: url },
      signal: controller.signal,
      fetch: nodeFetch,
      onStdout: (chunk) => {
        stdout += chunk;
      },
    });
    await until(() => stdout.includes('"evt_2"'));
    // The SDK's idle timeout (60 s: four of the server's 15 s heartbeats) closes the silent connection.
    await vi.advanceTimersByTimeAsync(60_000);
    await until(() => sleeps.pending === 1);
    await vi.advanceTimersToNextTimerAsync();
    await until(() => stdout.includes('"evt_3"'));
    controller.abort(new Error('Interrupted'));
    const outcome = await run;
    expect(lastEventIds).toEqual(['evt_1', 'evt_2']);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEvent).id),
    ).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(outcome.exitCode).toBe(130);
    await until(() => closed.length === 2);
  });
});
