import fp from 'fastify-plugin';
import { EntitlementsService } from './entitlements.js';
import { MeService } from './me.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Plan entitlements, checked in services: `reserve(tx, userId, 'agents', count)`,
     * `consumeExecution(tx, userId)`, `requirePremiumModels(tx, userId)`, `retentionCutoff(tx, userId)`,
     * `limits(tx, userId)`. See src/modules/plans/entitlements.ts.
     */
    entitlements: EntitlementsService;
    /** The cached `/api/v1/me` view; `registerCounter('agents', count)` adds agent usage to it. */
    me: MeService;
  }
}

/** Decorates the app with the entitlements service and the `/api/v1/me` view. */
export const plansPlugin = fp(
  async (app) => {
    const entitlements = new EntitlementsService({ clock: app.clock });
    const me = new MeService({ db: app.db, clock: app.clock, invalidations: app.invalidations });
    entitlements.onUsageChange((userId) => me.forget(userId));
    app.decorate('entitlements', entitlements);
    app.decorate('me', me);
  },
  { name: 'fleece-plans', dependencies: ['fleece-config', 'fleece-database', 'fleece-invalidations'] },
);
