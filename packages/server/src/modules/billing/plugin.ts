import fp from 'fastify-plugin';
import { BillingService } from './service.js';
import { createStripeClient } from './stripe.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Stripe billing (src/modules/billing/service.ts): `status`, `checkout`, `portal`, `handleWebhook`, and
     * `cancelSubscription(userId)` for account deletion and `deleteCustomer(userId)` for its purge (no-ops
     * when billing is off or there is no subscription / customer).
     */
    billing: BillingService;
  }
}

/**
 * Decorates the app with `billing`: the Stripe client when `STRIPE_*` is configured (on the platform
 * `fetch`), otherwise a service whose routes answer 503 `billing_not_configured`.
 */
export const billingPlugin = fp(
  async (app) => {
    const config = app.config.billing;
    app.decorate(
      'billing',
      new BillingService({
        db: app.db,
        clock: app.clock,
        audit: app.audit,
        invalidations: app.invalidations,
        apiKeys: app.apiKeys,
        me: app.me,
        log: app.log,
        config,
        stripe: config ? createStripeClient(config) : undefined,
      }),
    );
  },
  {
    name: 'fleece-billing',
    dependencies: [
      'fleece-config',
      'fleece-database',
      'fleece-invalidations',
      'fleece-audit',
      'fleece-plans',
      'fleece-api-keys',
    ],
  },
);
