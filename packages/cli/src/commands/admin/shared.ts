import type { AdminUser, PlanId } from '@fleece/sdk/contract';
import { CliError, ValidationError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import type { Invocation } from '../../lib/invocation.js';
import type { ApiSession } from '../../lib/session.js';

/** The plans an admin may set, in order. */
export const PLANS: readonly PlanId[] = ['free', 'pro', 'business', 'enterprise'];

/** Plan names as the web page and the API's messages show them. */
export const PLAN_NAMES: Record<PlanId, string> = {
  free: 'Free',
  pro: 'Pro',
  business: 'Business',
  enterprise: 'Enterprise',
};

/** How to become an admin: said wherever someone tries to grant admin rights through the API. */
export const BECOME_ADMIN_HINT =
  "Admin rights are not granted over the API: list the address in the server's FLEECE_ADMIN_EMAILS (it becomes an admin at its next sign-in), or run `fleece-server admin grant <email>` on the server host.";

/**
 * Finds the account `who` names: an id (`usr_…`) or an email address (case-insensitive, exact), through
 * `GET /api/v1/admin/users?q=`.
 *
 * @throws {ValidationError} (exit 2) when `who` is neither an id nor an email address.
 * @throws {CliError} (exit 1) when no account matches: it must have signed in once.
 */
export async function findUser(inv: Invocation, session: ApiSession, who: string): Promise<AdminUser> {
  const wanted = who.trim();
  const byId = wanted.startsWith('usr_');
  if (!byId && !/^[^@\s]+@[^@\s]+$/.test(wanted)) {
    throw new ValidationError(`"${who}" is neither an email address nor a user id (usr_…).`, {
      hint: 'Find the account with `fleece admin users list --search <part of the email or name>`.',
    });
  }
  const page = await session.call('GET /api/v1/admin/users', (client) =>
    client.admin.users.list({ q: wanted, limit: 100 }, { signal: inv.ctx.signal }),
  );
  const found = page.data.find((u) =>
    byId ? u.id === wanted : u.email.toLowerCase() === wanted.toLowerCase(),
  );
  if (!found) {
    throw new CliError(`No account ${byId ? 'has the id' : 'uses'} ${wanted}.`, {
      exitCode: ExitCode.ERROR,
      hint: byId
        ? 'See the accounts with `fleece admin users list`.'
        : 'An account exists once its owner has signed in (a sign-in link is enough). See `fleece admin users list`.',
    });
  }
  return found;
}

/** One account as one tab-separated line: id, email, plan, role, status, name (`-` when none). */
export function formatUser(user: AdminUser): string {
  return [user.id, user.email, user.plan, user.role, user.status, user.name ?? '-'].join('\t');
}
