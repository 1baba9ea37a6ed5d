import type { BillingStatus } from '@fleece/sdk/contract';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { BillingOptions } from './index.js';
import { billingError } from './shared.js';

/** `used of limit`, or `used (no limit)`. */
function meter(m: { used: number; limit: number | null } | undefined): string | undefined {
  if (!m) return undefined;
  return m.limit === null ? `${m.used} (no limit)` : `${m.used} of ${m.limit}`;
}

/** The human lines of `fleece billing status` (tab-separated label and value). */
export function describeBilling(state: BillingStatus): string[] {
  const sub = state.subscription;
  const lines = [['plan', state.plan.name]];
  if (!sub) lines.push(['subscription', 'none']);
  else {
    const end = sub.currentPeriodEnd?.slice(0, 10);
    const when = end ? (sub.cancelAtPeriodEnd ? `, ends ${end}` : `, renews ${end}`) : '';
    lines.push(['subscription', `${sub.status}${sub.status === 'canceled' ? '' : when} (${sub.id})`]);
  }
  const usage = state.usage;
  const rows: [string, string | undefined][] = [
    ['api keys', meter(usage.apiKeys)],
    ['agents', meter(usage.agents)],
    [`executions ${usage.executions?.period ?? 'this month'}`, meter(usage.executions)],
  ];
  for (const [label, value] of rows) if (value !== undefined) lines.push([label, value]);
  return lines.map((l) => l.join('\t'));
}

/** Runs `fleece billing [status]`: plan, subscription, usage; notices as warnings; or the JSON. */
export async function run(inv: Invocation, options: BillingOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const state = await session
    .call('GET /api/v1/billing', (client) => client.billing.get({ signal: inv.ctx.signal }))
    .catch((error: unknown) => {
      throw billingError(error);
    });
  if (options.json) return inv.out.json(state);
  for (const line of describeBilling(state)) inv.out.data(line);
  for (const notice of state.notices) inv.out.warn(notice.message);
  if (state.plan.id === 'free' && !state.subscription) inv.out.info(messages.billingUpgradeHint);
}
