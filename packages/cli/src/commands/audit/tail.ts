import { type AuditEvent, type AuditEventStream, AuthenticationError } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AuditOptions } from './index.js';
import { formatEvent, parseAction, parseCount } from './shared.js';

/**
 * Reconnections in a row a followed tail makes before it gives up: with the SDK's backoff (0.5 s doubling,
 * capped at 8 s) about a minute of outage.
 */
export const TAIL_MAX_RETRIES = 10;

/**
 * Runs `fleece audit tail`: the latest `--lines` events, oldest first; with `--follow`, then every new
 * event, resuming after the last one printed (Last-Event-ID) so none is missed or repeated.
 */
export async function run(inv: Invocation, options: AuditOptions): Promise<void> {
  const lines = parseCount(
    options.lines,
    { min: 0, max: 100, fallback: 10 },
    () => new ValidationError(messages.badLines(String(options.lines)), { hint: messages.badLinesHint }),
  );
  const action = parseAction(options.action);
  const print = (event: AuditEvent) =>
    options.json ? inv.ctx.stdout.write(`${JSON.stringify(event)}\n`) : inv.out.data(formatEvent(event));

  const session = await ApiSession.open(inv);
  const signal = inv.ctx.signal;
  let lastEventId: string | undefined;
  if (lines > 0 || !options.follow) {
    const page = await session.call('GET /api/v1/audit-events', (client) =>
      client.audit.list({ limit: Math.max(lines, 1), action }, { signal }),
    );
    const recent = page.data.slice(0, lines).reverse();
    for (const event of recent) print(event);
    lastEventId = page.data[0]?.id;
  }
  if (!options.follow) return;

  // The server ends a followed stream when its credential stops being valid (revoked, or an access token
  // that expired): a refreshable login resumes after the last event printed; anything else exits 3.
  let announced = false;
  let refreshedWithoutProgress = false;
  for (;;) {
    let stream: AuditEventStream | undefined;
    try {
      const client = await session.client();
      stream = await client.audit.stream({ action, lastEventId }, { signal, maxRetries: TAIL_MAX_RETRIES });
      inv.out.debug(`GET /api/v1/audit-events/stream → 200 (request id ${stream.requestId})`);
      if (!announced) inv.out.info(messages.auditFollowing);
      announced = true;
      for await (const event of stream) {
        refreshedWithoutProgress = false;
        print(event);
      }
      return;
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      lastEventId = stream?.lastEventId ?? lastEventId;
      // A login refreshed a moment ago and refused again without an event in between is not retried.
      await session.reauthenticate(error, !refreshedWithoutProgress);
      refreshedWithoutProgress = true;
    }
  }
}
