import {
  type Execution,
  signWebhookPayload,
  WEBHOOK_RETRY_SCHEDULE_SECONDS,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookDelivery,
  type WebhookDeliveryPage,
  type WebhookEvent,
  type WebhookEventType,
} from '@fleece/sdk';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Database, Db } from '../../db/client.js';
import {
  decodeCursor,
  encodeCursor,
  isIntegerKey,
  newestFirst,
  olderThan,
  pageOf,
} from '../../db/pagination.js';
import { webhookDeliveries } from '../../db/schema/webhooks.js';
import { withUser } from '../../db/tenant.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { VERSION } from '../../lib/package.js';
import { newId } from '../../lib/secrets.js';
import type { ExecutionService } from '../executions/service.js';
import { type DeliveryResult, WebhookTransport, type WebhookTransportOptions } from './deliver.js';
import { validateCallbackUrl } from './url.js';

/** The job queue that delivers webhook callbacks. */
export const WEBHOOK_DELIVER_JOB = 'webhook.deliver';

/** Attempts per event: the first, then one per entry of the SDK's `WEBHOOK_RETRY_SCHEDULE_SECONDS` (8). */
export const WEBHOOK_MAX_ATTEMPTS = 1 + WEBHOOK_RETRY_SCHEDULE_SECONDS.length;

/**
 * The data of a `webhook.deliver` job. It holds ids and the URL only: the run's output is read (and
 * decrypted) at delivery time, and the signing secret is fetched from the flow then, so nothing secret or
 * customer-written sits in the queue table.
 */
export interface WebhookJob {
  userId: string;
  executionId: string;
  flowId: string | null;
  /** `whe_…`, the same on every attempt (the receiver's `Idempotency-Key`). */
  eventId: string;
  eventType: WebhookEventType;
  url: string;
  /** When the event was made (the run finished), ISO 8601. */
  createdAt: string;
}

/**
 * What a {@link SigningSecretSource} answers: the plaintext secret; `undefined` when the flow or its secret
 * no longer exists; or `{ refused: 'callback_changed' }` when the flow's callback URL is no longer the URL
 * the event was made for (changed or removed since), so that URL must not be called.
 */
export type SigningSecretAnswer = string | undefined | { refused: 'callback_changed' };

/**
 * Where a flow's signing secret comes from: the flows module opens its sealed `callback_secret` inside
 * `tx` (the user's row-level security scope), but only while the flow's current callback URL is `url`:
 * a secret is only ever used for the URL it was issued with.
 */
export type SigningSecretSource = (
  tx: Db,
  userId: string,
  flowId: string,
  url: string,
) => Promise<SigningSecretAnswer>;

/** The finished flow run {@link WebhookService.enqueue} makes an event of. */
export interface FinishedRun {
  userId: string;
  /** The flow run's (parent) execution. */
  executionId: string;
  flowId: string;
  status: Execution['status'];
  /** The flow's callback URL at the time the run finished. */
  callbackUrl: string;
}

type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** The event type of a run that ended in `status`; `undefined` while it has not ended. */
export function eventTypeOf(status: Execution['status']): WebhookEventType | undefined {
  switch (status) {
    case 'succeeded':
      return 'flow.run.completed';
    case 'failed':
      return 'flow.run.failed';
    case 'cancelled':
      return 'flow.run.cancelled';
    default:
      return undefined;
  }
}

function present(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType as WebhookEventType,
    executionId: row.executionId,
    url: row.url,
    attempt: row.attempt,
    outcome: row.outcome,
    status: row.status,
    errorCode: row.errorCode,
    responseExcerpt: row.responseExcerpt,
    durationMs: row.durationMs,
    attemptedAt: row.attemptedAt.toISOString(),
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
  };
}

/** What {@link WebhookService} is built from (its dependencies and settings). */
export interface WebhookServiceOptions {
  database: Database;
  clock: Clock;
  config: Pick<Config, 'env' | 'webhooks'>;
  jobs: JobQueue;
  executions: ExecutionService;
  log: FastifyBaseLogger;
  /** Transport settings that replace the defaults (tests shorten timeouts); loopback follows `config`. */
  transport?: Partial<WebhookTransportOptions>;
}

/**
 * Webhook callbacks of flow runs (issue 6): {@link enqueue} makes the event when a run with a callback URL
 * finishes (in the run's own transaction), the `webhook.deliver` job POSTs it signed
 * (`Fleece-Signature`, the SDK's `signWebhookPayload`) through the SSRF-filtering {@link WebhookTransport},
 * records every attempt in `webhook_deliveries`, and schedules the next one after a failure
 * (`WEBHOOK_RETRY_SCHEDULE_SECONDS`: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). {@link list} serves the
 * attempts of one execution.
 *
 * Logs carry the event id, execution id, attempt, the URL's host (never its path or query), the outcome,
 * status, error code and duration; never the secret, the payload or the answer's body.
 */
export class WebhookService {
  private secrets: SigningSecretSource | undefined;
  private readonly transport: WebhookTransport;

  constructor(private readonly deps: WebhookServiceOptions) {
    const { config, transport = {} } = deps;
    this.transport = new WebhookTransport({
      ...transport,
      allowLoopback: config.env !== 'production' && config.webhooks.allowLoopback,
    });
  }

  private get db(): Db {
    return this.deps.database.db;
  }

  /** Sets where signing secrets come from (the flows module calls this once, while the app is built). */
  useSigningSecrets(source: SigningSecretSource): void {
    this.secrets = source;
  }

  /**
   * Enqueues the callback of a finished flow run inside `tx`, so the job exists exactly when the run's
   * final state commits. Resolves with the event id (`whe_…`), or `undefined` when `run.status` is not a
   * final one.
   */
  async enqueue(tx: Pick<Db, 'execute'>, run: FinishedRun): Promise<string | undefined> {
    const eventType = eventTypeOf(run.status);
    if (!eventType) return undefined;
    const job: WebhookJob = {
      userId: run.userId,
      executionId: run.executionId,
      flowId: run.flowId,
      eventId: newId('whe'),
      eventType,
      url: run.callbackUrl,
      createdAt: this.deps.clock.now().toISOString(),
    };
    await this.deps.jobs.send(WEBHOOK_DELIVER_JOB, job, { tx });
    return job.eventId;
  }

  /** The JSON body of the event of `job` for the run `execution`. */
  private event(job: WebhookJob, execution: Execution): WebhookEvent {
    return {
      id: job.eventId,
      type: job.eventType,
      createdAt: job.createdAt,
      data: {
        executionId: execution.id,
        flowId: execution.flowId ?? job.flowId ?? '',
        status: execution.status,
        output: execution.output,
        error: execution.error,
        createdAt: execution.createdAt,
        startedAt: execution.startedAt,
        finishedAt: execution.finishedAt,
        durationMs: execution.durationMs,
      },
    };
  }

  /**
   * Runs one attempt of `job` (the `webhook.deliver` handler): POSTs the signed event, records the attempt,
   * and on a retryable failure enqueues the next attempt after its backoff, in the same transaction. An
   * execution that no longer exists (deleted, or past the plan's retention) ends the delivery silently.
   * When the flow's callback URL is no longer the event's (changed or removed since the run finished),
   * nothing is sent and the attempt is recorded as `callback_changed`, not retried; a flow that is gone
   * records `flow_unavailable`.
   *
   * @throws whatever the database throws; pg-boss then retries the job itself.
   */
  async deliver(job: WebhookJob, signal?: AbortSignal): Promise<WebhookDelivery | undefined> {
    const execution = await this.deps.executions.get(job.userId, job.executionId);
    if (!execution) {
      this.deps.log.info(
        { webhook: { eventId: job.eventId, executionId: job.executionId } },
        'webhook dropped: the execution no longer exists',
      );
      return undefined;
    }
    const attempt =
      Number(
        (
          await withUser(this.db, job.userId, (tx) =>
            tx
              .select({ n: sql<number>`count(*)` })
              .from(webhookDeliveries)
              .where(
                and(eq(webhookDeliveries.userId, job.userId), eq(webhookDeliveries.eventId, job.eventId)),
              ),
          )
        )[0]?.n ?? 0,
      ) + 1;
    const attemptedAt = this.deps.clock.now();

    let url: URL | undefined;
    try {
      url = validateCallbackUrl(job.url, this.deps.config);
    } catch {
      url = undefined;
    }
    let result: DeliveryResult;
    if (!url) {
      result = this.refused('invalid_callback_url');
    } else {
      const flowId = job.flowId;
      const source = this.secrets;
      // Read at delivery, with the flow's current callback URL: a retry after the URL changed is not sent
      // to the old URL (nor signed with the new URL's secret).
      const secret =
        flowId && source
          ? await withUser(this.db, job.userId, (tx) => source(tx, job.userId, flowId, job.url))
          : undefined;
      if (secret === undefined) {
        result = this.refused('flow_unavailable');
      } else if (typeof secret !== 'string') {
        result = this.refused(secret.refused);
      } else {
        const body = JSON.stringify(this.event(job, execution));
        const timestamp = Math.floor(attemptedAt.getTime() / 1000);
        result = await this.transport.post(
          url,
          body,
          {
            'Content-Type': 'application/json',
            'User-Agent': `Fleece-Webhooks/${VERSION}`,
            [WEBHOOK_SIGNATURE_HEADER]: signWebhookPayload(body, secret, timestamp),
            'Idempotency-Key': job.eventId,
            'Fleece-Webhook-Attempt': String(attempt),
          },
          this.deps.config.webhooks.timeoutMs,
          signal,
        );
      }
    }

    const delay =
      result.outcome === 'failed' && result.retryable && attempt < WEBHOOK_MAX_ATTEMPTS
        ? WEBHOOK_RETRY_SCHEDULE_SECONDS[attempt - 1]!
        : undefined;
    const nextAttemptAt =
      delay === undefined ? null : new Date(this.deps.clock.now().getTime() + delay * 1000);
    const row = await withUser(this.db, job.userId, async (tx) => {
      const [inserted] = await tx
        .insert(webhookDeliveries)
        .values({
          id: newId('whd'),
          userId: job.userId,
          eventId: job.eventId,
          eventType: job.eventType,
          executionId: job.executionId,
          flowId: job.flowId,
          url: job.url,
          attempt,
          outcome: result.outcome,
          status: result.status,
          errorCode: result.errorCode,
          responseExcerpt: result.responseExcerpt,
          durationMs: result.durationMs,
          attemptedAt,
          nextAttemptAt,
        })
        .returning();
      if (delay !== undefined) await this.deps.jobs.send(WEBHOOK_DELIVER_JOB, job, { tx, startAfter: delay });
      return inserted!;
    });
    this.deps.log.info(
      {
        webhook: {
          eventId: job.eventId,
          executionId: job.executionId,
          attempt,
          host: url?.host,
          outcome: result.outcome,
          status: result.status,
          errorCode: result.errorCode,
          durationMs: result.durationMs,
          nextAttemptAt: nextAttemptAt?.toISOString(),
        },
      },
      'webhook delivery attempt',
    );
    return present(row);
  }

  /** A failed attempt that sent nothing and will not be retried. */
  private refused(
    errorCode: 'invalid_callback_url' | 'flow_unavailable' | 'callback_changed',
  ): DeliveryResult {
    return {
      outcome: 'failed',
      status: null,
      errorCode,
      responseExcerpt: null,
      durationMs: 0,
      retryable: false,
    };
  }

  /**
   * The delivery attempts of execution `executionId` of `userId`, newest first; `undefined` when the
   * execution is not one of theirs (or is past the plan's retention), which the route answers 404.
   */
  async list(
    userId: string,
    executionId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<WebhookDeliveryPage | undefined> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, isIntegerKey);
    if (!(await this.deps.executions.get(userId, executionId))) return undefined;
    const rows = await withUser(this.db, userId, (tx) =>
      tx
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.userId, userId),
            eq(webhookDeliveries.executionId, executionId),
            olderThan(webhookDeliveries.attemptedAt, webhookDeliveries.attempt, after),
          ),
        )
        .orderBy(...newestFirst(webhookDeliveries.attemptedAt, webhookDeliveries.attempt))
        .limit(limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, limit, (last) =>
      encodeCursor({ createdAt: last.attemptedAt, id: last.attempt }),
    );
    return { data: page.map(present), nextCursor };
  }

  /** Closes the transport's sockets. */
  close(): void {
    this.transport.close();
  }
}
