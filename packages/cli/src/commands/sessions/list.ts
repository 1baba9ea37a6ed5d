import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import { parseCount } from '../audit/shared.js';
import type { SessionsOptions } from './index.js';

/** Runs `fleece sessions list`: one line per session, or the page as JSON. */
export async function run(inv: Invocation, options: SessionsOptions): Promise<void> {
  const limit = parseCount(
    options.limit,
    { min: 1, max: 100, fallback: 20 },
    () => new ValidationError(messages.badLimit(String(options.limit)), { hint: messages.badLimitHint }),
  );
  const session = await ApiSession.open(inv);
  const page = await session.call('GET /api/v1/sessions', (client) =>
    client.sessions.list({ limit }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0) return inv.out.info(messages.noSessions);
  for (const s of page.data) {
    const lastUsed = `${s.lastUsedAt.slice(0, 16).replace('T', ' ')} UTC`;
    inv.out.data(
      [`${s.current ? '*' : ' '} ${s.id}`, s.kind, s.method, lastUsed, s.ip ?? '-', s.userAgent ?? '-'].join(
        '\t',
      ),
    );
  }
}
