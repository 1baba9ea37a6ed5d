import { confirmDestructive } from '../../lib/confirm.js';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { SessionsOptions } from './index.js';

/**
 * Runs `fleece sessions revoke <id>` or `fleece sessions revoke --others`: asks first on a terminal;
 * without one `--yes` is required, and its absence fails with exit 2 before anything is sent.
 */
export async function run(inv: Invocation, options: SessionsOptions, [id]: string[]): Promise<void> {
  if (id && options.others) throw new ValidationError(messages.sessionRevokeTargetAndOthers);
  if (!id && !options.others) {
    throw new ValidationError(messages.sessionRevokeNeedsTarget, {
      hint: messages.sessionRevokeNeedsTargetHint,
    });
  }
  // Credentials first: without any, exit 3 before asking anything.
  const session = await ApiSession.open(inv);
  const command = id ? `fleece sessions revoke ${id} --yes` : 'fleece sessions revoke --others --yes';
  await confirmDestructive(inv, {
    yes: options.yes,
    question: id ? messages.sessionRevokeConfirm(id) : messages.sessionRevokeOthersConfirm,
    needsYes: () =>
      new ValidationError(messages.sessionRevokeNeedsYes(id ?? 'the other sessions'), {
        hint: messages.sessionRevokeNeedsYesHint(command),
      }),
  });
  const signal = inv.ctx.signal;
  if (id) {
    await session.call('DELETE /api/v1/sessions/:id', (client) => client.sessions.revoke(id, { signal }));
    inv.out.success(messages.sessionRevoked(id));
    return;
  }
  const { revoked } = await session.call('DELETE /api/v1/sessions', (client) =>
    client.sessions.revokeOthers({ signal }),
  );
  inv.out.success(messages.sessionsRevoked(revoked));
}
