import { confirmDestructive } from '../../lib/confirm.js';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { KeysOptions } from './index.js';

/** A 404 names the key id and where to see them. */
export const notFoundHint = messages.keyNotFoundHint;

/**
 * Runs `fleece keys revoke <id>`: asks first on a terminal; without one (CI, a pipe) `--yes` is required,
 * and its absence fails with exit 2 before anything is sent.
 */
export async function run(inv: Invocation, options: KeysOptions, [id]: string[]): Promise<void> {
  const keyId = id!;
  await confirmDestructive(inv, {
    yes: options.yes,
    question: messages.revokeConfirm(keyId),
    needsYes: () =>
      new ValidationError(messages.revokeNeedsYes(keyId), { hint: messages.revokeNeedsYesHint(keyId) }),
  });
  const session = await ApiSession.open(inv);
  await session.call('DELETE /api/v1/api-keys/:id', (client) =>
    client.apiKeys.revoke(keyId, { signal: inv.ctx.signal }),
  );
  inv.out.success(messages.keyRevoked(keyId));
}
