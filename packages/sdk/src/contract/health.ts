import { z } from 'zod';

/** Status of one health check or of the whole service. */
export const HealthStatus = z.enum(['ok', 'degraded', 'down']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** The `service` of every Fleece server's health answer: how clients tell a Fleece server from another app. */
export const FLEECE_SERVICE = 'fleece';

/**
 * Seconds a due job may wait for a worker before `GET /api/health` reports the job queue, and so the
 * service, `degraded`: two minutes is many worker polls (every 2 s by default) and longer than any one
 * job's normal wait, so reaching it means no worker is running or the workers cannot keep up.
 */
export const JOB_QUEUE_LAG_LIMIT_SECONDS = 120;

/**
 * Body of `GET /api/health`. It names no host, connection string or secret.
 *
 * - `service`: always `fleece`, so a client can tell a Fleece server from another web app on the port;
 * - `status`: `ok` (200), `degraded` (200: serving, with a part impaired) or `down` (503);
 * - `version`: the server's package version;
 * - `uptimeSeconds`: whole seconds since the process started;
 * - `checks.database`: reachability and round-trip latency in milliseconds (`null` when unreachable);
 * - `checks.migrations`: how many migrations are applied and pending (`null` when unknown);
 * - `checks.rateLimitStore`: where rate-limit counters live (`memory`, or `redis` shared by every instance)
 *   and whether it answers; `degraded` when Redis is unreachable (limits then fail closed on execute,
 *   trigger and export). Absent from servers older than this field.
 * - `checks.jobs`: the background job queue (flow runs, webhook deliveries, purges): `workersHere` (this
 *   instance runs job workers), `workersAlive` (live instances running workers, this one included),
 *   `oldestQueuedSeconds` (how long the oldest due job has waited to be picked up; `null` when none waits)
 *   and `lagLimitSeconds` ({@link JOB_QUEUE_LAG_LIMIT_SECONDS}); `degraded` once the oldest due job has
 *   waited that long (also when the queue's state cannot be read), `down` with the database. Absent from
 *   servers older than this field.
 */
export const HealthResponse = z.object({
  service: z.literal(FLEECE_SERVICE),
  status: HealthStatus,
  version: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
  checks: z.object({
    database: z.object({
      status: HealthStatus,
      latencyMs: z.number().nonnegative().nullable(),
    }),
    migrations: z.object({
      status: HealthStatus,
      applied: z.number().int().nonnegative().nullable(),
      pending: z.number().int().nonnegative().nullable(),
    }),
    rateLimitStore: z
      .object({
        status: HealthStatus,
        store: z.enum(['memory', 'redis']),
      })
      .optional(),
    jobs: z
      .object({
        status: HealthStatus,
        workersHere: z.boolean(),
        workersAlive: z.number().int().nonnegative().nullable(),
        oldestQueuedSeconds: z.number().int().nonnegative().nullable(),
        lagLimitSeconds: z.number().int().positive(),
      })
      .optional(),
  }),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
