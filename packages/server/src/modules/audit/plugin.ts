import fp from 'fastify-plugin';
import type { AuditStreamOptions } from './notifier.js';
import { AuditService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The audit log: `record(tx, ctx, event)` inside a change's transaction, `recordDetached(ctx, event,
     * { throttleKey })` for attempts that change nothing, `subjectFor` / `forgetSubject` for the account
     * purge. See src/modules/audit/service.ts.
     */
    audit: AuditService;
  }
}

/**
 * Decorates the app with the audit service (cross-cutting: every feature records through it). On shutdown
 * it first ends the open audit streams, so that closing the server does not wait on them, then announces
 * the events still waiting for their notification.
 */
export const auditPlugin = fp<{ stream?: AuditStreamOptions }>(
  async (app, options) => {
    const audit = new AuditService({
      database: app.database,
      keyring: app.config.encryption,
      clock: app.clock,
      log: app.log,
      ...(options.stream ? { stream: options.stream } : {}),
    });
    app.decorate('audit', audit);
    app.addHook('preClose', async () => {
      await audit.stream.close();
    });
    app.addHook('onClose', async () => {
      await audit.close();
    });
  },
  { name: 'fleece-audit', dependencies: ['fleece-config', 'fleece-database'] },
);
