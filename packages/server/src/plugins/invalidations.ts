import fp from 'fastify-plugin';
import { Invalidations } from '../db/invalidation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Cross-instance cache invalidation (LISTEN/NOTIFY on `fleece_invalidate`): `announce(tx, payload)`
     * inside the changing transaction, `afterCommit(payload)` after it. See src/db/invalidation.ts.
     */
    invalidations: Invalidations;
  }
}

/** Decorates the app with {@link Invalidations}, listening from start-up until the app closes. */
export const invalidationsPlugin = fp(
  async (app) => {
    const invalidations = new Invalidations(app.database);
    await invalidations.start();
    app.decorate('invalidations', invalidations);
    app.addHook('onClose', async () => {
      await invalidations.stop();
    });
  },
  { name: 'fleece-invalidations', dependencies: ['fleece-database'] },
);
