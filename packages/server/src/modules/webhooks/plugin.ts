import fp from 'fastify-plugin';
import { WEBHOOK_DELIVER_JOB, type WebhookJob, WebhookService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Webhook callbacks of flow runs: enqueue, deliver, list attempts (src/modules/webhooks/service.ts). */
    webhooks: WebhookService;
  }
}

/**
 * Decorates the app with `webhooks` and registers the `webhook.deliver` job: up to 5 deliveries at once per
 * worker process; a job that throws (the database failed, not the receiver) is retried by pg-boss 3 times
 * with backoff, apart from the delivery's own retry schedule. Closes the transport's sockets on close.
 */
export const webhooksPlugin = fp(
  async (app) => {
    const webhooks = new WebhookService({
      database: app.database,
      clock: app.clock,
      config: app.config,
      jobs: app.jobs,
      executions: app.executions,
      log: app.log,
    });
    app.decorate('webhooks', webhooks);
    app.jobs.register<WebhookJob>(
      WEBHOOK_DELIVER_JOB,
      async (data, job) => {
        await webhooks.deliver(data, job.signal);
      },
      // The timeout bounds one POST; two minutes leaves room for the database work around it.
      { retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 120, concurrency: 5 },
    );
    app.addHook('onClose', async () => {
      webhooks.close();
    });
  },
  {
    name: 'fleece-webhooks',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-jobs', 'fleece-executions'],
  },
);
