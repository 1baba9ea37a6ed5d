import fp from 'fastify-plugin';
import { HealthService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's health for `GET /api/health` (src/modules/health/service.ts). */
    health: HealthService;
  }
}

/** Decorates the app with `health`: the database, its migrations, the rate-limit store and the job queue. */
export const healthPlugin = fp(
  async (app) => {
    app.decorate(
      'health',
      new HealthService({
        database: app.database,
        clock: app.clock,
        rateLimitStore: app.rateLimitStore,
        jobs: app.jobs,
      }),
    );
  },
  {
    name: 'fleece-health',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-jobs', 'fleece-rate-limit'],
  },
);
