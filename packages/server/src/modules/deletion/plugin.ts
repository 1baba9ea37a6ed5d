import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { accountChangeOptions } from '../identity/account-change.js';
import { AccountDeletionService, type CancelSubscription, type DeleteBillingCustomer } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Account deletion: request, cancel, state, and the purge (src/modules/deletion/service.ts). */
    accountDeletion: AccountDeletionService;
  }
}

/** The billing module's subscription cancel (`app.billing`), when that module is registered. */
function billingCancel(app: FastifyInstance): CancelSubscription | undefined {
  if (!app.hasDecorator('billing')) return undefined;
  return async (userId) => {
    await app.billing.cancelSubscription(userId);
  };
}

/** The billing module's Stripe customer deletion (`app.billing`), when that module is registered. */
function billingDeleteCustomer(app: FastifyInstance): DeleteBillingCustomer | undefined {
  if (!app.hasDecorator('billing')) return undefined;
  return async (userId) => {
    await app.billing.deleteCustomer(userId);
  };
}

/**
 * Decorates the app with {@link AccountDeletionService} (`app.accountDeletion`), wired to the audit log,
 * sessions, API keys, cache invalidation, billing (when registered) and the grace period of the
 * configuration.
 */
export const deletionPlugin = fp(
  async (app) => {
    app.decorate(
      'accountDeletion',
      new AccountDeletionService({
        ...accountChangeOptions(app),
        log: app.log,
        graceDays: app.config.deletionGraceDays,
        cancelSubscription: () => billingCancel(app),
        deleteBillingCustomer: () => billingDeleteCustomer(app),
      }),
    );
  },
  {
    name: 'fleece-deletion',
    // Identity and API keys depend on configuration, database, invalidations and audit in their turn.
    dependencies: ['fleece-identity', 'fleece-api-keys'],
  },
);
