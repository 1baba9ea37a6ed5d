import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { BillingOptions } from './index.js';
import { billingError, openStripePage } from './shared.js';

/** Runs `fleece billing portal`: opens the Stripe customer portal (or prints its address; `--json`). */
export async function run(inv: Invocation, options: BillingOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const { url } = await session
    .call('POST /api/v1/billing/portal', (client) => client.billing.portal({ signal: inv.ctx.signal }))
    .catch((error: unknown) => {
      throw billingError(error);
    });
  if (options.json) return inv.out.json({ url });
  await openStripePage(inv, url, 'portal', options.browser !== false);
}
