import type { PlanId } from '@fleece/sdk/contract';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AdminUsersOptions } from './index.js';
import { BECOME_ADMIN_HINT, findUser, PLAN_NAMES, PLANS } from './shared.js';

/** Runs `fleece admin users set-plan <user> <plan>` through `PATCH /api/v1/admin/users/:id`. */
export async function run(inv: Invocation, options: AdminUsersOptions, [who, plan]: string[]): Promise<void> {
  if (plan === 'admin')
    throw new ValidationError('"admin" is a role, not a plan.', { hint: BECOME_ADMIN_HINT });
  if (!plan || !(PLANS as readonly string[]).includes(plan)) {
    throw new ValidationError(`The plan must be one of ${PLANS.join(', ')} (got "${plan}").`);
  }
  const session = await ApiSession.open(inv);
  const user = await findUser(inv, session, who!);
  const updated = await session.call('PATCH /api/v1/admin/users/:id', (client) =>
    client.admin.users.update(user.id, { plan: plan as PlanId }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json(updated);
  inv.out.success(
    user.plan === updated.plan
      ? `${updated.email} (${updated.id}) was already on the ${PLAN_NAMES[updated.plan]} plan.`
      : `${updated.email} (${updated.id}) is now on the ${PLAN_NAMES[updated.plan]} plan (was ${PLAN_NAMES[user.plan]}).`,
  );
}
