import {
  FLEECE_SERVICE,
  HealthResponse,
  type HealthStatus,
  JOB_QUEUE_LAG_LIMIT_SECONDS,
} from '@fleece/sdk/contract';
import type { Database } from '../../db/client.js';
import { migrationStatus } from '../../db/migrate.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { VERSION } from '../../lib/package.js';

/** How long one health result is reused, in ms: the endpoint stays cheap under load. */
export const HEALTH_CACHE_MS = 1_000;

const worst = (...statuses: HealthStatus[]): HealthStatus =>
  statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';

/** One health result and its JSON body. */
export interface HealthCheck {
  result: HealthResponse;
  json: string;
}

type JobsCheck = NonNullable<HealthResponse['checks']['jobs']>;

/** What {@link HealthService} is built from (its dependencies and settings). */
export interface HealthServiceOptions {
  database: Database;
  clock: Clock;
  /** The rate-limit store (`app.rateLimitStore`), when limits are on: its kind and whether it answers. */
  rateLimitStore?: ProbedStore | undefined;
  /** The job queue (`app.jobs`), when there is one: its backlog and whether this instance runs workers. */
  jobs?: Pick<JobQueue, 'backlog' | 'workersHere'> | undefined;
}

/** What health reads of a store it depends on: its kind, and `status()` (never throws). */
export interface ProbedStore {
  kind: 'memory' | 'redis';
  status(): Promise<HealthStatus>;
}

/**
 * Computes the service's health: database reachability and latency, applied versus pending migrations,
 * (when given) the rate-limit store: Redis not answering makes the service `degraded`, not `down` (requests
 * are still served; fail-closed limits refuse their operations), and (when given) the job queue: a due job
 * waiting {@link JOB_QUEUE_LAG_LIMIT_SECONDS} or more makes it `degraded`. Results are cached for
 * {@link HEALTH_CACHE_MS}; concurrent callers share one probe. Never throws.
 */
export class HealthService {
  private cached: { at: number; result: Promise<HealthCheck> } | undefined;
  private readonly startedAt: number;

  constructor(private readonly deps: HealthServiceOptions) {
    const { clock } = deps;
    this.startedAt = clock.now().getTime();
  }

  /** The current health, at most {@link HEALTH_CACHE_MS} old, with its JSON encoding. */
  check(): Promise<HealthCheck> {
    const now = this.deps.clock.now().getTime();
    if (!this.cached || now - this.cached.at >= HEALTH_CACHE_MS || now < this.cached.at) {
      this.cached = {
        at: now,
        result: this.probe(now).then((result) => {
          const checked = HealthResponse.parse(result);
          return { result: checked, json: JSON.stringify(checked) };
        }),
      };
    }
    return this.cached.result;
  }

  private async probe(now: number): Promise<HealthResponse> {
    let database: HealthResponse['checks']['database'];
    let migrations: HealthResponse['checks']['migrations'] = { status: 'down', applied: null, pending: null };
    try {
      database = { status: 'ok', latencyMs: await this.deps.database.ping() };
      try {
        const { applied, pending } = await migrationStatus(this.deps.database.db);
        migrations = { status: pending === 0 ? 'ok' : 'degraded', applied, pending };
      } catch {
        migrations = { status: 'degraded', applied: null, pending: null };
      }
    } catch {
      database = { status: 'down', latencyMs: null };
    }
    const rateLimitStore = this.deps.rateLimitStore
      ? { status: await this.deps.rateLimitStore.status(), store: this.deps.rateLimitStore.kind }
      : undefined;
    const jobs = this.deps.jobs
      ? await this.jobsCheck(this.deps.jobs, database.status === 'down')
      : undefined;
    return {
      service: FLEECE_SERVICE,
      status: worst(database.status, migrations.status, rateLimitStore?.status ?? 'ok', jobs?.status ?? 'ok'),
      version: VERSION,
      uptimeSeconds: Math.max(0, Math.floor((now - this.startedAt) / 1000)),
      checks: {
        database,
        migrations,
        ...(rateLimitStore ? { rateLimitStore } : {}),
        ...(jobs ? { jobs } : {}),
      },
    };
  }

  /** The job queue's check: `down` with the database, `degraded` when it lags or cannot be read. */
  private async jobsCheck(
    queue: Pick<JobQueue, 'backlog' | 'workersHere'>,
    databaseDown: boolean,
  ): Promise<JobsCheck> {
    const unknown = {
      workersHere: queue.workersHere,
      workersAlive: null,
      oldestQueuedSeconds: null,
      lagLimitSeconds: JOB_QUEUE_LAG_LIMIT_SECONDS,
    };
    if (databaseDown) return { status: 'down', ...unknown };
    try {
      const backlog = await queue.backlog();
      const lags = (backlog.oldestQueuedSeconds ?? 0) >= JOB_QUEUE_LAG_LIMIT_SECONDS;
      return { status: lags ? 'degraded' : 'ok', ...backlog, lagLimitSeconds: JOB_QUEUE_LAG_LIMIT_SECONDS };
    } catch {
      return { status: 'degraded', ...unknown };
    }
  }
}
