import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { type Db as BossDb, fromDrizzle, fromPglite, type Job, PgBoss, type QueuePolicy } from 'pg-boss';
import { APP_ROLE, type Database, type Db, rowsOf } from '../db/client.js';
import { JOB_SCHEMA } from './schema.js';

/** What a handler learns about the job it runs. */
export interface JobContext {
  /** pg-boss job id (a UUID). */
  id: string;
  /** The queue name the job was sent to. */
  name: string;
  /** How many times this job was retried before this attempt (0 on the first). */
  retryCount: number;
  /** Aborted when the job expires or the worker stops without waiting. */
  signal: AbortSignal;
}

/**
 * Runs one job. Resolving completes the job; throwing fails this attempt, which is retried while the
 * queue's `retryLimit` allows, then marked failed. Handlers must be idempotent: a job is delivered at
 * least once (a worker that dies mid-job leaves it to expire and be retried).
 */
export type JobHandler<T = unknown> = (data: T, job: JobContext) => Promise<unknown> | undefined;

/**
 * Queue options of {@link JobQueue.register}; they become the defaults of every job sent to the queue.
 * Times are in seconds (pg-boss's unit).
 */
export interface RegisterOptions {
  /** Retries after the first failure. @default 2 */
  retryLimit?: number;
  /** Seconds between retries (with `retryBackoff`, the base of the exponential backoff). @default 0 */
  retryDelay?: number;
  /** Exponential backoff with jitter: about `retryDelay * 2^retryCount` seconds. @default false */
  retryBackoff?: boolean;
  /** Seconds a job may run before it is failed (and retried). @default 900 (15 minutes) */
  expireInSeconds?: number;
  /**
   * pg-boss queue policy: `standard` (default), `short` (at most one queued job per singleton key),
   * `singleton` (at most one active), `stately` (at most one queued and one active), `exclusive`.
   */
  policy?: QueuePolicy;
  /** Jobs of this queue one worker process runs at once. @default 1 */
  concurrency?: number;
  /**
   * A cron expression (UTC) on which the queue also runs, with empty data: stored (or updated) when the
   * queue starts, so a daily job needs no start-up code of its own.
   */
  schedule?: string;
}

/** Options of {@link JobQueue.send}. Times in seconds unless a Date. */
export interface SendOptions {
  /** Deduplication key; what it dedupes depends on the queue's `policy` or `singletonSeconds`. */
  singletonKey?: string;
  /** With `singletonKey`: at most one job per key per this many seconds. */
  singletonSeconds?: number;
  /** Not before this time (a Date), or this many seconds from now. */
  startAfter?: Date | number;
  /** Overrides the queue's retry settings for this job. */
  retryLimit?: number;
  retryDelay?: number;
  retryBackoff?: boolean;
  /**
   * A drizzle transaction to enqueue in: the job exists only if that transaction commits (no outbox
   * needed). Without it the job is committed at once.
   */
  tx?: Pick<Db, 'execute'>;
}

/** Options of {@link JobQueue.schedule}. */
export interface ScheduleOptions {
  /** Distinguishes several schedules of one queue (such as one per flow); default the queue's only one. */
  key?: string;
  /** IANA time zone the cron expression is read in. @default 'UTC' */
  tz?: string;
  /** A drizzle transaction to write the schedule in (it exists only if that transaction commits). */
  tx?: Pick<Db, 'execute'>;
}

function connection(tx: Pick<Db, 'execute'> | undefined): { db?: BossDb } {
  // drizzle's execute result is driver-typed; pg-boss's adapter unwraps both drivers' shapes.
  return tx ? { db: fromDrizzle(tx as Parameters<typeof fromDrizzle>[0], sql) } : {};
}

/** One job run by {@link JobQueue.runPending}. */
export interface RanJob {
  id: string;
  name: string;
  data: unknown;
  outcome: 'completed' | 'failed';
  /** The error message when the handler threw. */
  error?: string;
}

/** Where workers run: `inline` in this process, or `off` (send and schedule only; a worker runs them). */
export type WorkersMode = 'inline' | 'off';

/** How a {@link JobQueue} runs (from the configuration). */
export interface JobQueueSettings {
  /** `inline`: this process runs jobs, cron schedules and maintenance; `off`: it only sends. */
  workers: WorkersMode;
  /** How often an idle worker polls each queue, in seconds. */
  pollSeconds: number;
  /** How often cron schedules are checked (by one instance per interval), in seconds (1–45). */
  scheduleCheckSeconds: number;
  /** How long {@link JobQueue.stop} waits for running jobs, in ms. */
  shutdownTimeoutMs: number;
}

/** Queue names: letters, digits, `-`, `_`, `.` (pg-boss also allows `/`; Fleece keeps names simple). */
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The state of the queue that health reports: see {@link JobQueue.backlog}. */
export interface JobBacklog {
  /** Whether this process runs job workers (`FLEECE_WORKERS=inline`). */
  workersHere: boolean;
  /**
   * Live instances that run job workers, this one included: pg-boss's instance registry (`pgboss.instance`),
   * rows of instances that supervise (only instances with workers do), not stopped, and heard from within
   * three of their heartbeats (pg-boss's own rule for `live`; the heartbeat is every 30 s).
   */
  workersAlive: number;
  /**
   * Whole seconds the oldest due job has waited to be picked up: from its `start_after` (when it was sent,
   * or when its delay or retry backoff ended) to now, in the database's time; `null` when no job waits.
   */
  oldestQueuedSeconds: number | null;
}

interface Registration {
  handler: JobHandler<never>;
  options: RegisterOptions;
}

/**
 * Background jobs on pg-boss 12, in the same PostgreSQL database as everything else (PGlite included).
 *
 * Lifecycle: feature plugins call {@link register} while the app is built; {@link start} (the app's
 * `onReady`) creates the queues and, with workers `inline`, starts polling them; {@link stop} (the app's
 * close) stops the workers, waiting for running jobs up to the shutdown timeout, and then pg-boss.
 * Schedules (cron) are stored in the database: they survive restarts, and whichever running instance with
 * workers gets to a due schedule first enqueues it, once (pg-boss serialises the cron check with an
 * advisory lock and records each slot it fired).
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private readonly registrations = new Map<string, Registration>();
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly log: FastifyBaseLogger,
    private readonly settings: JobQueueSettings,
  ) {
    const workers = settings.workers;
    const common = {
      schema: JOB_SCHEMA,
      // The schema is installed and upgraded as the owner by the migrate path; the app role only checks it.
      migrate: false,
      createSchema: false,
      // Maintenance and cron run only where jobs run, so a web-only instance holds no timers.
      supervise: workers === 'inline',
      schedule: workers === 'inline',
      cronMonitorIntervalSeconds: settings.scheduleCheckSeconds,
      // REINDEX needs the indexes' owner, which the app role is not; bloat is still detected and logged as
      // an `index_bloat` warning, for the owner to act on (docs/operations.md, Background jobs).
      reindex: false,
    } as const;
    if (database.connection.kind === 'pglite') {
      const db: BossDb = fromPglite(database.connection.pglite);
      this.boss = new PgBoss({ ...common, db, backend: 'pglite' });
    } else {
      this.boss = new PgBoss({
        ...common,
        connectionString: database.connection.url,
        max: 4,
        options: `-c role=${APP_ROLE}`,
        application_name: 'fleece-jobs',
      });
    }
    this.boss.on('error', (err) => this.log.error({ err }, 'job queue error'));
    this.boss.on('warning', (warning) =>
      this.log.warn({ warning: warning.message, data: warning.data }, 'job queue warning'),
    );
  }

  /**
   * Registers the handler of queue `name`. Call while the app is built (before `ready()`); each name once.
   *
   * @throws {Error} for an invalid or already registered name, or after start.
   * @example
   * app.jobs.register<{ userId: string }>('account.purge', async ({ userId }) => purge(userId), {
   *   retryLimit: 5, retryDelay: 30, retryBackoff: true,
   * });
   */
  register<T>(name: string, handler: JobHandler<T>, options: RegisterOptions = {}): void {
    if (!QUEUE_NAME.test(name)) throw new Error(`Invalid job queue name: ${name}`);
    if (this.registrations.has(name)) throw new Error(`Job queue ${name} is already registered`);
    if (this.started) throw new Error(`Job queue ${name} registered after the job queue started`);
    this.registrations.set(name, { handler: handler as JobHandler<never>, options });
  }

  /** The registered queue names. */
  names(): string[] {
    return [...this.registrations.keys()];
  }

  /**
   * Enqueues a job on queue `name` and resolves with its id, or `null` when a singleton rule dropped it
   * as a duplicate. With `options.tx` the job is written in that transaction.
   *
   * @throws {Error} when `name` is not registered.
   * @example
   * await app.db.transaction(async (tx) => {
   *   await tx.insert(flowRuns).values(run);
   *   await app.jobs.send('flow.run', { executionId: run.id }, { tx });
   * });
   */
  async send(name: string, data: object, options: SendOptions = {}): Promise<string | null> {
    this.registration(name);
    await this.start();
    const { tx, startAfter, ...rest } = options;
    return this.boss.send(name, data, {
      ...rest,
      ...(startAfter === undefined ? {} : { startAfter }),
      ...connection(tx),
    });
  }

  /**
   * Creates or replaces the cron schedule `(name, options.key)`: every time `cron` (5 fields, or 6 with
   * seconds) comes due, one job with `data` is sent to queue `name`, by whichever instance with workers
   * gets there first. Stored in the database, so it survives restarts.
   *
   * @throws {Error} when `name` is not registered or `cron` is not a valid expression.
   */
  async schedule(
    name: string,
    cron: string,
    data: object = {},
    options: ScheduleOptions = {},
  ): Promise<void> {
    this.registration(name);
    await this.start();
    await this.boss.schedule(name, cron, data, {
      tz: options.tz ?? 'UTC',
      key: options.key,
      ...connection(options.tx),
    });
  }

  /** Removes the schedule `(name, key)` (in `options.tx` when given); a missing one is not an error. */
  async unschedule(name: string, key?: string, options: { tx?: Pick<Db, 'execute'> } = {}): Promise<void> {
    await this.start();
    await this.boss.unschedule(name, key, connection(options.tx));
  }

  /** The stored schedules of queue `name` (all queues without it). */
  async schedules(name?: string): Promise<{ name: string; key: string; cron: string; data: unknown }[]> {
    await this.start();
    const rows = await this.boss.getSchedules(name);
    return rows.map((r) => ({ name: r.name, key: r.key, cron: r.cron, data: r.data }));
  }

  /** The state of a job (`created`, `retry`, `active`, `completed`, `cancelled`, `failed`), or `undefined`. */
  async state(name: string, id: string): Promise<string | undefined> {
    await this.start();
    const [job] = await this.boss.findJobs(name, { id });
    return job?.state;
  }

  /** Whether this process runs job workers (`FLEECE_WORKERS=inline`). */
  get workersHere(): boolean {
    return this.settings.workers === 'inline';
  }

  /**
   * How far behind the queue is, read from pg-boss's tables in one statement over the app's own database
   * connection (not pg-boss's pool, so it answers whether or not the queue started). Times are the
   * database's, the clock pg-boss stamps jobs and heartbeats with. Due jobs are those `created` or `retry`,
   * not blocked by a dependency, whose `start_after` has come.
   *
   * @throws the database's error (for example when pg-boss's schema is not installed).
   */
  async backlog(): Promise<JobBacklog> {
    const schema = sql.raw(JOB_SCHEMA);
    const [row] = rowsOf<{ oldest: number | string | null; alive: number | string }>(
      await this.database.db.execute(sql`
        select
          (select floor(extract(epoch from now() - min(start_after)))
             from ${schema}.job
             where state < 'active' and not blocked and start_after <= now()) as oldest,
          (select count(*)
             from ${schema}.instance
             where supervise and stopped_on is null
               and heartbeat_on >= now() - heartbeat_seconds * 3 * interval '1 second') as alive`),
    );
    return {
      workersHere: this.workersHere,
      workersAlive: Number(row?.alive ?? 0),
      oldestQueuedSeconds: row?.oldest == null ? null : Math.max(0, Number(row.oldest)),
    };
  }

  /** Starts pg-boss, creates the registered queues and, with workers `inline`, starts them. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.doStart().catch((error: unknown) => {
      this.started = undefined;
      throw error;
    });
    return this.started;
  }

  private async doStart(): Promise<void> {
    await this.boss.start();
    for (const [name, { options }] of this.registrations) {
      const { concurrency: _, schedule, policy, ...settings } = options;
      await this.boss.createQueue(name, { ...settings, ...(policy ? { policy } : {}) });
      // createQueue keeps an existing queue's settings; changed retry settings in code must still apply.
      // (A queue's policy is fixed at creation.)
      if (Object.keys(settings).length > 0) await this.boss.updateQueue(name, settings);
      if (schedule) await this.boss.schedule(name, schedule, {}, { tz: 'UTC' });
    }
    if (this.settings.workers !== 'inline') return;
    for (const [name, { handler, options }] of this.registrations) {
      await this.boss.work(
        name,
        {
          batchSize: 1,
          localConcurrency: options.concurrency ?? 1,
          pollingIntervalSeconds: this.settings.pollSeconds,
        },
        async ([job]: Job<object>[]) => {
          if (job) await this.invoke(name, handler, job);
        },
      );
    }
  }

  private async invoke(name: string, handler: JobHandler<never>, job: Job<object>): Promise<unknown> {
    const context: JobContext = { id: job.id, name, retryCount: job.retryCount, signal: job.signal };
    try {
      return await handler(job.data as never, context);
    } catch (err) {
      this.log.warn({ err, job: { id: job.id, name, retryCount: job.retryCount } }, 'job failed');
      throw err;
    }
  }

  /**
   * Runs every job of `name` (all registered queues without it) that is due, in this process, until none
   * is left, including jobs the handlers send. For tests and the `fleece-server` maintenance commands:
   * deterministic, no polling. With `includeDelayed`, jobs waiting for `startAfter` or a retry delay are
   * made due first (each round), so retries run to exhaustion.
   *
   * @throws {Error} when more than `maxJobs` (default 1000) jobs ran, which suggests a job that re-sends itself.
   */
  async runPending(
    options: { name?: string; includeDelayed?: boolean; maxJobs?: number } = {},
  ): Promise<RanJob[]> {
    await this.start();
    const names = options.name ? [options.name] : this.names();
    for (const name of names) this.registration(name);
    const maxJobs = options.maxJobs ?? 1000;
    const ran: RanJob[] = [];
    for (;;) {
      if (options.includeDelayed) {
        await this.boss
          .getDb()
          .executeSql(
            `UPDATE ${JOB_SCHEMA}.job SET start_after = now() WHERE name = ANY($1::text[]) AND state IN ('created', 'retry') AND start_after > now()`,
            [names],
          );
      }
      let progressed = false;
      for (const name of names) {
        const { handler } = this.registration(name);
        for (;;) {
          const [job] = await this.boss.fetch<object>(name, { batchSize: 1 });
          if (!job) break;
          progressed = true;
          if (ran.length >= maxJobs) throw new Error(`runPending ran more than ${maxJobs} jobs`);
          try {
            await this.invoke(name, handler, job);
            await this.boss.complete(name, job.id);
            ran.push({ id: job.id, name, data: job.data, outcome: 'completed' });
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            await this.boss.fail(name, job.id, { message });
            ran.push({ id: job.id, name, data: job.data, outcome: 'failed', error: message });
          }
        }
      }
      if (!progressed) return ran;
    }
  }

  /**
   * Stops the workers (running jobs get up to the shutdown timeout to finish), the cron and maintenance
   * timers, and pg-boss's pool. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.started) return;
    await this.started.catch(() => {});
    try {
      await this.boss.stop({
        graceful: true,
        timeout: Math.max(this.settings.shutdownTimeoutMs, 1),
        close: true,
      });
    } catch (err) {
      // The database may already be gone (a failed instance being closed); there is nothing left to release.
      this.log.warn({ err }, 'job queue did not stop cleanly');
    }
  }

  private registration(name: string): Registration {
    const registration = this.registrations.get(name);
    if (!registration) throw new Error(`No job queue named ${name} is registered`);
    return registration;
  }
}
