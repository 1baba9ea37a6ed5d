import fp from 'fastify-plugin';
import { accountChangeOptions } from '../identity/account-change.js';
import { AdminService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Administration: list and search accounts, set plans and limits, suspend, grant the admin role
     * (src/modules/admin/service.ts); the admin routes and `fleece-server admin` use it.
     */
    admin: AdminService;
  }
}

/** Decorates the app with `admin`. */
export const adminPlugin = fp(
  async (app) => {
    app.decorate('admin', new AdminService(accountChangeOptions(app)));
  },
  {
    name: 'fleece-admin',
    // Identity and API keys depend on configuration, database, invalidations and audit in their turn.
    dependencies: ['fleece-identity', 'fleece-api-keys'],
  },
);
