import fp from 'fastify-plugin';
import { JobQueue } from './queue.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Background jobs on pg-boss (src/jobs/queue.ts): `register(name, handler, options?)` at build time,
     * `send(name, data, options?)` (inside a drizzle transaction with `{ tx }`), `schedule(name, cron,
     * data?, { key })` / `unschedule(name, key?)`. Workers run in this process unless `FLEECE_WORKERS=off`.
     */
    jobs: JobQueue;
  }
}

/**
 * Decorates the app with {@link JobQueue}. Feature plugins registered after this one add their handlers;
 * the queue starts when the app is ready (creating the queues and, with `FLEECE_WORKERS=inline`, starting
 * the workers and the cron clock) and stops when the app closes, before the database does: workers first
 * get up to `FLEECE_SHUTDOWN_TIMEOUT_MS` to finish the jobs they run.
 */
export const jobsPlugin = fp(
  async (app) => {
    const jobs = new JobQueue(app.database, app.log, {
      workers: app.config.workers,
      pollSeconds: app.config.workerPollSeconds,
      scheduleCheckSeconds: app.config.scheduleCheckSeconds,
      shutdownTimeoutMs: app.config.shutdownTimeoutMs,
    });
    app.decorate('jobs', jobs);
    app.addHook('onReady', async () => {
      // The app serves without its queue (health reports the database); the next send retries the start.
      await jobs.start().catch((err: unknown) => {
        app.log.error({ err }, 'job queue could not start; it is retried on next use');
      });
    });
    // onClose hooks run in reverse registration order, so this one runs before the database closes; the
    // listening socket is already closed, so shutdown refuses new connections at once.
    app.addHook('onClose', async () => {
      await jobs.stop();
    });
  },
  { name: 'fleece-jobs', dependencies: ['fleece-config', 'fleece-database'] },
);
