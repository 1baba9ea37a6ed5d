import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { KeysOptions } from './index.js';
import { describeExpiry } from './shared.js';

/** Runs `fleece keys list`: one line per key (tab-separated), or the page as JSON. */
export async function run(inv: Invocation, options: KeysOptions): Promise<void> {
  const limit = Number(options.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new ValidationError(messages.badLimit(String(options.limit)), { hint: messages.badLimitHint });
  }
  const session = await ApiSession.open(inv);
  const page = await session.call('GET /api/v1/api-keys', (client) =>
    client.apiKeys.list({ limit }, { signal: inv.ctx.signal }),
  );
  if (options.json) {
    inv.out.json({ data: page.data, nextCursor: page.nextCursor });
    return;
  }
  if (page.data.length === 0) {
    inv.out.info(messages.noKeys);
    return;
  }
  const rows = page.data.map((key) => [
    key.id,
    key.name,
    `flc_${key.start}…`,
    key.scopes.join(','),
    `expires ${describeExpiry(key)}`,
    key.lastUsedAt ? `last used ${key.lastUsedAt.slice(0, 16).replace('T', ' ')} UTC` : 'never used',
    // A plan downgrade disabled it (GET /api/v1/billing lists them); shown only then, so other lines keep
    // their six columns.
    ...(key.status === 'disabled' ? [messages.keyDisabled] : []),
  ]);
  for (const row of rows) inv.out.data(row.join('\t'));
  if (page.nextCursor) inv.out.info(messages.moreKeys);
}
