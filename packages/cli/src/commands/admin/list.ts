import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { parseCount } from '../audit/shared.js';
import type { AdminUsersOptions } from './index.js';
import { formatUser, PLANS } from './shared.js';

const ROLES = ['user', 'admin'] as const;
const STATUSES = ['active', 'suspended', 'pending_deletion'] as const;

/** `value` when it is one of `allowed`; otherwise a usage error naming the flag and the choices. */
function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ValidationError(`${flag} must be one of ${allowed.join(', ')} (got "${value}").`);
}

/** Runs `fleece admin users list`: one line per account, or the page as JSON. */
export async function run(inv: Invocation, options: AdminUsersOptions): Promise<void> {
  const limit = parseCount(
    options.limit,
    { min: 1, max: 100, fallback: 20 },
    () => new ValidationError(`--limit must be a whole number from 1 to 100 (got "${options.limit}").`),
  );
  const plan = oneOf('--plan', options.plan, PLANS);
  const role = oneOf('--role', options.role, ROLES);
  const status = oneOf('--status', options.status, STATUSES);
  const search = options.search?.trim();
  const session = await ApiSession.open(inv);
  const page = await session.call('GET /api/v1/admin/users', (client) =>
    client.admin.users.list(
      {
        limit,
        ...(search ? { q: search } : {}),
        ...(plan ? { plan } : {}),
        ...(role ? { role } : {}),
        ...(status ? { status } : {}),
      },
      { signal: inv.ctx.signal },
    ),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0) return inv.out.info('No accounts match.');
  for (const user of page.data) inv.out.data(formatUser(user));
  if (page.nextCursor)
    inv.out.info(`More accounts exist: raise --limit (at most 100) or narrow with --search.`);
}
