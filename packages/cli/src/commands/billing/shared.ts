import { APIError } from '@fleece/sdk';
import { CliError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { messages } from '../../messages.js';

/**
 * Turns the billing problems a person can act on into a {@link CliError} with a hint: billing off on
 * this server (503 `billing_not_configured`), Stripe failing (502 `billing_provider_error`), a running
 * subscription (409 `already_subscribed`), no billing account yet (404 `no_billing_account`). Anything
 * else is returned unchanged, for the generic mapping.
 */
export function billingError(error: unknown): unknown {
  if (!(error instanceof APIError)) return error;
  const base = { requestId: error.requestId, cause: error };
  switch (error.code) {
    case 'billing_not_configured':
      return new CliError(messages.billingOff, { ...base, hint: messages.billingOffHint });
    case 'billing_provider_error':
      return new CliError(messages.billingProviderFailed, {
        ...base,
        hint: messages.billingProviderFailedHint,
      });
    case 'already_subscribed':
      return new CliError(messages.billingAlreadySubscribed, { ...base, hint: messages.billingPortalHint });
    case 'no_billing_account':
      return new CliError(messages.billingNoAccount, { ...base, hint: messages.billingUpgradeHint });
    default:
      return error;
  }
}

/**
 * Sends the browser to a Stripe-hosted page at `url`: opens it unless `browser` is false, and always
 * prints the address (on stderr, even with `--quiet`), saying whether it was opened.
 */
export async function openStripePage(
  inv: Invocation,
  url: string,
  page: 'Checkout' | 'portal',
  browser: boolean,
): Promise<void> {
  let opened = false;
  if (browser) {
    try {
      await inv.ctx.openBrowser(url);
      opened = true;
    } catch (error) {
      inv.out.debug(`Could not open a browser: ${(error as Error).message}`);
    }
  }
  inv.out.notice(messages.billingOpen(page, url, opened));
}
