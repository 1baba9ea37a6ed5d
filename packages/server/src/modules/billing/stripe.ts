import Stripe from 'stripe';
import type { BillingConfig } from '../../config.js';
import { VERSION } from '../../lib/package.js';

/** How long one Stripe API call may take, in ms (the library's default is 80 s: too long for a request). */
export const STRIPE_TIMEOUT_MS = 20_000;

/**
 * Signature tolerance of Stripe webhooks, in seconds: an event signed longer ago than this is refused (replay
 * protection; Stripe's own default).
 */
export const WEBHOOK_TOLERANCE_S = 300;

/**
 * The Stripe API client of this server, built with the official `stripe` library on the platform `fetch`
 * (`Stripe.createFetchHttpClient`), so every call goes through `globalThis.fetch`: over TLS to
 * `https://api.stripe.com` (claim C2), and interceptable by msw in tests. Network failures are retried
 * twice by the library (with idempotency keys on writes).
 */
export function createStripeClient(config: BillingConfig): Stripe {
  return new Stripe(config.secretKey, {
    // `globalThis.fetch` looked up per call, not captured once: whatever wraps it later (an HTTP proxy
    // agent, msw in tests) applies to Stripe calls too.
    httpClient: Stripe.createFetchHttpClient((input, init) => globalThis.fetch(input, init)),
    maxNetworkRetries: 2,
    timeout: STRIPE_TIMEOUT_MS,
    appInfo: { name: 'Fleece', version: VERSION, url: 'https://fleece.dev' },
  });
}

export { Stripe };
