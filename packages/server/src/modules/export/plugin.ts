import fp from 'fastify-plugin';
import { ExportService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Data export (src/modules/export/service.ts). */
    exports: ExportService;
  }
}

/** Decorates the app with `exports`; on close, running exports stop and are recorded as not completed. */
export const exportPlugin = fp(
  async (app) => {
    const exports = new ExportService({
      config: app.config.exports,
      database: app.database,
      clock: app.clock,
      audit: app.audit,
      executions: app.executions,
      chat: app.chat,
      consents: app.consents,
      log: app.log,
    });
    app.decorate('exports', exports);
    app.addHook('preClose', async () => {
      await exports.close();
    });
  },
  {
    name: 'fleece-export',
    dependencies: ['fleece-database', 'fleece-audit', 'fleece-executions', 'fleece-consents'],
  },
);
