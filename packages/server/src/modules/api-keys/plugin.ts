import fp from 'fastify-plugin';
import { ApiKeyService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** API keys: verification (cached), creation, listing, revocation, last use (src/modules/api-keys/service.ts). */
    apiKeys: ApiKeyService;
  }
}

/**
 * Decorates the app with `apiKeys`, which authentication (src/plugins/authenticate.ts) verifies every
 * `flc_…` bearer token with. On close the last uses noted in memory are written.
 */
export const apiKeysPlugin = fp(
  async (app) => {
    const apiKeys = new ApiKeyService({
      db: app.db,
      clock: app.clock,
      audit: app.audit,
      entitlements: app.entitlements,
      invalidations: app.invalidations,
      onError: (error) => app.log.warn({ err: error }, 'could not record the last use of API keys'),
    });
    app.decorate('apiKeys', apiKeys);
    app.addHook('onClose', async () => {
      await apiKeys.lastUsed.close();
    });
  },
  {
    name: 'fleece-api-keys',
    // Audit and plans depend on configuration and database in their turn.
    dependencies: ['fleece-invalidations', 'fleece-audit', 'fleece-plans'],
  },
);
