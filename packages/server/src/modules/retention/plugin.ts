import fp from 'fastify-plugin';
import { cleanupExpired } from './cleanup.js';
import { RetentionService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** History retention by plan (src/modules/retention/service.ts). */
    retention: RetentionService;
  }
}

/** The daily job's queue name. */
export const DAILY_JOB = 'data.daily';

/** When the daily job runs: 03:17 UTC every day (cron, UTC). */
export const DAILY_CRON = '17 3 * * *';

/** The account purge's queue name: one job per deletion, data `{ deletionId }`. */
export const PURGE_JOB = 'account.purge';

/**
 * Decorates the app with {@link RetentionService} and registers the data lifecycle jobs on the job queue
 * (pg-boss):
 *
 * - `account.purge` (`{ deletionId }`): purges one account whose deletion grace period is over; sent by
 *   the deletion request with `startAfter` = the purge date; retried with backoff (every step is
 *   idempotent);
 * - `data.daily` (cron {@link DAILY_CRON}): applies history retention to every account, deletes expired
 *   sign-in artifacts and old Stripe event ids ({@link cleanupExpired}), then queues the
 *   purge of every deletion that is overdue (one whose own job was lost), so no account outlives its
 *   purge date by more than a day.
 */
export const retentionPlugin = fp(
  async (app) => {
    const retention = new RetentionService({ db: app.db, entitlements: app.entitlements });
    app.decorate('retention', retention);
    const deletion = app.accountDeletion;

    // Delays are handed to pg-boss in seconds from the app clock's now, so a database clock that differs
    // from the app's cannot start a purge before its date.
    const queuePurge = async (deletionId: string, startAfter?: Date) => {
      const delayMs = startAfter ? startAfter.getTime() - app.clock.now().getTime() : 0;
      await app.jobs.send(
        PURGE_JOB,
        { deletionId },
        delayMs > 0 ? { startAfter: Math.ceil(delayMs / 1000) } : {},
      );
    };
    deletion.setSchedulePurge(queuePurge);

    app.jobs.register<{ deletionId: string }>(
      PURGE_JOB,
      async ({ deletionId }) => {
        const outcome = await deletion.purge(deletionId);
        // Ran before the grace period ended (the database clock is ahead of the app's): run again then.
        if (outcome === 'not_due') {
          const state = await deletion.purgeDate(deletionId);
          if (state) await queuePurge(deletionId, state);
        }
        return { outcome };
      },
      { retryLimit: 10, retryDelay: 60, retryBackoff: true, expireInSeconds: 3600 },
    );

    app.jobs.register(
      DAILY_JOB,
      async () => {
        const report = await retention.run();
        const cleaned = await cleanupExpired(app.db, app.clock.now());
        const due = await deletion.due();
        for (const id of due) await queuePurge(id);
        app.log.info(
          { retention: report, cleanup: cleaned, purgesQueued: due.length },
          'daily data lifecycle job done',
        );
        return { ...report, cleanup: cleaned, purgesQueued: due.length };
      },
      // The schedule is stored when the queue starts (a start that fails does not fail the app's readiness).
      { retryLimit: 3, retryDelay: 300, retryBackoff: true, expireInSeconds: 6 * 3600, schedule: DAILY_CRON },
    );
  },
  {
    name: 'fleece-retention',
    dependencies: ['fleece-jobs', 'fleece-plans', 'fleece-deletion'],
  },
);
