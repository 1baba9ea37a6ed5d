import type { LimitOverrides } from '@fleece/sdk/contract';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AdminUsersOptions } from './index.js';
import { BECOME_ADMIN_HINT, findUser, PLAN_NAMES } from './shared.js';

/** The limits an override may set, and the kind of value each takes. */
const LIMITS = {
  apiKeys: 'count',
  agents: 'count',
  executionsPerMonth: 'count',
  historyRetentionDays: 'positive',
  premiumModels: 'boolean',
  apiBurstPerMinute: 'rate',
  apiPerDay: 'rate',
} as const;
type LimitName = keyof typeof LIMITS;

const KINDS = {
  count: 'a whole number (0 or more)',
  positive: 'a whole number (1 or more)',
  boolean: 'true or false',
  rate: 'a whole number (1 or more), or none for no API access',
} as const;

/**
 * Parses `name=value` pairs into limit overrides.
 *
 * @throws {ValidationError} naming the pair that is wrong and what it should be.
 */
export function parseLimits(pairs: readonly string[]): LimitOverrides {
  const limits: Record<string, number | boolean | null> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (name === 'admin' || name === 'role') {
      throw new ValidationError('Admin rights are not a limit.', { hint: BECOME_ADMIN_HINT });
    }
    if (!Object.hasOwn(LIMITS, name)) {
      throw new ValidationError(`Unknown limit "${name}".`, {
        hint: `The limits are ${Object.keys(LIMITS).join(', ')}.`,
      });
    }
    const kind = LIMITS[name as LimitName];
    const raw = eq === -1 ? '' : pair.slice(eq + 1).trim();
    const bad = () => new ValidationError(`${name} must be ${KINDS[kind]} (got "${pair}").`);
    if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw bad();
      limits[name] = raw === 'true';
      continue;
    }
    if (kind === 'rate' && raw === 'none') {
      limits[name] = null;
      continue;
    }
    if (!/^\d+$/.test(raw)) throw bad();
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || (kind !== 'count' && n < 1)) throw bad();
    limits[name] = n;
  }
  return limits as LimitOverrides;
}

/** Runs `fleece admin users grant <user> name=value… | --reset` through `PATCH /api/v1/admin/users/:id`. */
export async function run(inv: Invocation, options: AdminUsersOptions, args: string[]): Promise<void> {
  const [who, ...pairs] = args;
  if (pairs.length === 1 && pairs[0] === 'admin') {
    throw new ValidationError('Admin rights are not granted over the API.', { hint: BECOME_ADMIN_HINT });
  }
  if (options.reset && pairs.length > 0)
    throw new ValidationError('Give either limits or --reset, not both.');
  if (!options.reset && pairs.length === 0) {
    throw new ValidationError('Name the limits to grant (name=value), or pass --reset.', {
      hint: 'For example: `fleece admin users grant cto@example.com apiPerDay=2000000`.',
    });
  }
  const limits = options.reset ? null : parseLimits(pairs);
  const session = await ApiSession.open(inv);
  const user = await findUser(inv, session, who!);
  if (limits && user.plan !== 'enterprise') {
    throw new ValidationError(
      `Limit overrides apply only to the Enterprise plan; ${user.email} is on ${PLAN_NAMES[user.plan]}.`,
      {
        hint: `Put the account on Enterprise first: \`fleece admin users set-plan ${user.email} enterprise\`.`,
      },
    );
  }
  const updated = await session.call('PATCH /api/v1/admin/users/:id', (client) =>
    client.admin.users.update(user.id, { limits }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json(updated);
  if (!updated.limits) {
    inv.out.success(
      `${updated.email} (${updated.id}) has the ${PLAN_NAMES[updated.plan]} plan's own limits.`,
    );
    return;
  }
  const granted = Object.entries(updated.limits)
    .map(([name, value]) => `${name}=${value === null ? 'none' : String(value)}`)
    .join(' ');
  inv.out.success(`${updated.email} (${updated.id}) now has: ${granted}.`);
}
