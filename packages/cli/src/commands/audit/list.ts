import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AuditOptions } from './index.js';
import { formatEvent, parseAction, parseCount, parseTime } from './shared.js';

/** Runs `fleece audit list`: one line per event, newest first, or the page as JSON. */
export async function run(inv: Invocation, options: AuditOptions): Promise<void> {
  const now = inv.ctx.now();
  const query = {
    limit: parseCount(
      options.limit,
      { min: 1, max: 100, fallback: 20 },
      () => new ValidationError(messages.badLimit(String(options.limit)), { hint: messages.badLimitHint }),
    ),
    action: parseAction(options.action),
    since: parseTime('--since', options.since, now),
    until: parseTime('--until', options.until, now),
    cursor: options.cursor,
  };
  const session = await ApiSession.open(inv);
  const page = await session.call('GET /api/v1/audit-events', (client) =>
    client.audit.list(query, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0) inv.out.info(messages.noAuditEvents);
  for (const event of page.data) inv.out.data(formatEvent(event));
  if (page.nextCursor) inv.out.info(messages.moreAuditEvents(page.nextCursor));
}
