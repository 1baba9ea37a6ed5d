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
    const jobs = new JobQueue(app.database, app.config.workers, app.log, app.config.shutdownTimeoutMs);
    app.decorate('jobs', jobs);
    app.addHook('onReady', async () => {
      await jobs.start();
    });
    // preClose: in-flight jobs finish (or time out) while the rest of the app, executions included, still runs.
    app.addHook('preClose', async () => {
      await jobs.stop();
    });
  },
  { name: 'fleece-jobs', dependencies: ['fleece-config', 'fleece-database'] },
);
