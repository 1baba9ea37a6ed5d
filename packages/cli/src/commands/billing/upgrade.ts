import { PaidPlanId } from '@fleece/sdk/contract';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { BillingOptions } from './index.js';
import { billingError, openStripePage } from './shared.js';

/**
 * Runs `fleece billing upgrade [--plan pro|business]`: asks the server for a Stripe Checkout Session and
 * opens it (or prints its address); with `--json` prints `{ plan, url }` and opens nothing.
 */
export async function run(inv: Invocation, options: BillingOptions): Promise<void> {
  const plan = PaidPlanId.safeParse(options.plan ?? 'pro');
  if (!plan.success) {
    throw new ValidationError(messages.billingBadPlan(String(options.plan)), {
      hint: messages.billingBadPlanHint,
    });
  }
  const session = await ApiSession.open(inv);
  const { url } = await session
    .call('POST /api/v1/billing/checkout', (client) =>
      client.billing.checkout({ plan: plan.data }, { signal: inv.ctx.signal }),
    )
    .catch((error: unknown) => {
      throw billingError(error);
    });
  if (options.json) return inv.out.json({ plan: plan.data, url });
  await openStripePage(inv, url, 'Checkout', options.browser !== false);
  inv.out.info(messages.billingAfterCheckout);
}
