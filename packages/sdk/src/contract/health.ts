import { z } from 'zod';

/** Status of one health check or of the whole service. */
export const HealthStatus = z.enum(['ok', 'degraded', 'down']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** The `service` of every Fleece server's health answer: how clients tell a Fleece server from another app. */
export const FLEECE_SERVICE = 'fleece';

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
  }),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
