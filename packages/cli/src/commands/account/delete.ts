import { type AccountDeletion, ConflictError, PermissionDeniedError } from '@fleece/sdk';
import { CliError, ValidationError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import type { Invocation } from '../../lib/invocation.js';
import { withLock } from '../../lib/lock.js';
import { configDir } from '../../lib/paths.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AccountOptions } from './index.js';

/** The phrase that confirms a deletion as well as the account's email address does. */
export const DELETE_PHRASE = 'delete my account';

/** `2026-03-08 09:00 UTC` from an ISO 8601 time. */
const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Runs `fleece account delete` (or, with `--cancel`, cancels a pending deletion).
 *
 * Order: credentials first (exit 3 without any, before anything else); then, without a terminal, both
 * `--yes` and `--confirm <email>` or exit 2 before anything is sent; then the account's email from
 * `/api/v1/me` for the typed confirmation (`--confirm` must equal it, ignoring case; on a terminal the user
 * types it, or "delete my account"); then the request. A successful request revoked this login on the
 * server, so the stored credentials are removed.
 */
export async function run(inv: Invocation, options: AccountOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const signal = inv.ctx.signal;
  if (options.cancel) return cancel(inv, session, options);

  if (!inv.out.interactive && !(options.yes && options.confirm)) {
    throw new ValidationError(messages.accountDeleteNeedsConfirm, {
      hint: messages.accountDeleteNeedsConfirmHint,
    });
  }
  const me = await session.call('GET /api/v1/me', (client) => client.me.get({ signal }));
  const email = me.user.email;
  if (me.user.status === 'pending_deletion') {
    const state = await session.call('GET /api/v1/account/deletion', (client) =>
      client.account.deletion.status({ signal }),
    );
    if (options.json) return inv.out.json(state);
    throw new CliError(messages.accountAlreadyPending(utc(state.purgeAfter ?? '')), {
      hint: messages.accountAlreadyPendingHint,
    });
  }
  if (options.confirm !== undefined) {
    if (options.confirm.trim().toLowerCase() !== email.toLowerCase()) {
      throw new ValidationError(messages.accountDeleteConfirmMismatch(email), {
        hint: messages.accountDeleteConfirmMismatchHint,
      });
    }
  }
  if (!(options.yes && options.confirm)) {
    const typed = await inv.ctx.prompts.text({ message: messages.accountDeletePrompt(email) }, signal);
    const answer = typed.trim().toLowerCase();
    if (answer !== email.toLowerCase() && answer !== DELETE_PHRASE) {
      throw new CliError(messages.accountDeleteDeclined);
    }
  }

  let state: AccountDeletion;
  try {
    state = await session.call('POST /api/v1/account/deletion', (client) =>
      client.account.deletion.request({ signal }),
    );
  } catch (error) {
    if (error instanceof PermissionDeniedError && error.code === 'reauthentication_required') {
      throw new CliError(messages.accountReauthRequired, {
        exitCode: ExitCode.PERMISSION,
        hint: messages.accountReauthHint,
        requestId: error.requestId,
        cause: error,
      });
    }
    throw error;
  }
  await forgetLogin(inv, session);
  if (options.json) return inv.out.json(state);
  inv.out.success(messages.accountDeletionScheduled(email, utc(state.purgeAfter ?? '')));
  inv.out.info(messages.accountDeletionSignedOut);
  inv.out.info(messages.accountDeletionCancelHint);
}

/** `--cancel`: restores an account pending deletion. */
async function cancel(inv: Invocation, session: ApiSession, options: AccountOptions): Promise<void> {
  let state: AccountDeletion;
  try {
    state = await session.call('POST /api/v1/account/deletion/cancel', (client) =>
      client.account.deletion.cancel({ signal: inv.ctx.signal }),
    );
  } catch (error) {
    if (error instanceof ConflictError && error.code === 'deletion_not_pending') {
      throw new CliError(messages.accountNotPending, { requestId: error.requestId, cause: error });
    }
    if (error instanceof ConflictError && error.code === 'deletion_in_progress') {
      throw new CliError(messages.accountDeletionTooLate, { requestId: error.requestId, cause: error });
    }
    throw error;
  }
  if (options.json) return inv.out.json(state);
  inv.out.success(messages.accountDeletionCancelled);
  inv.out.info(messages.accountDeletionCancelledKeys);
}

/** Removes the stored credentials of this server and profile (the server has revoked them). */
async function forgetLogin(inv: Invocation, session: ApiSession): Promise<void> {
  if (session.source.kind !== 'store') return;
  const credentials = await inv.credentials();
  await withLock(configDir(inv.ctx), `${inv.profile}@${session.server}`, () =>
    credentials.remove(session.server, inv.profile),
  );
}
