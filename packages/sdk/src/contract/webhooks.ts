import { z } from 'zod';
import { ExecutionParams, ExecutionStatus } from './executions.js';
import { PageQuery, pageOf } from './pagination.js';

/**
 * Webhook callbacks: what Fleece POSTs to a flow's `callbackUrl` when a run of it finishes, and the record
 * of each delivery attempt.
 *
 * The request: `POST <callbackUrl>` with `Content-Type: application/json`, `User-Agent:
 * Fleece-Webhooks/<server version>`, `Fleece-Signature: t=<unix s>,v1=<hex HMAC-SHA256>` (check it with
 * `verifyWebhookSignature` from `@fleece/sdk`), `Idempotency-Key: <event id>` (the same on every attempt
 * of one event: deduplicate on it) and `Fleece-Webhook-Attempt: <n>`, and a {@link WebhookEvent} body.
 * Answer any 2xx within 10 s; anything else (or no answer) is retried with backoff, 8 attempts in all
 * over about 28 hours ({@link WEBHOOK_RETRY_SCHEDULE_SECONDS}). Redirects are not followed.
 *
 * `GET /api/v1/executions/:id/deliveries` lists the attempts for a flow run, newest first
 * ({@link WebhookDeliveryPage}).
 */

/** The event types a flow callback carries: one per way a run ends. */
export const WEBHOOK_EVENT_TYPES = ['flow.run.completed', 'flow.run.failed', 'flow.run.cancelled'] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/**
 * Seconds to wait before each retry of a failed delivery: attempt 2 comes 5 s after attempt 1 failed,
 * attempt 3 five minutes after attempt 2, and so on; attempt 8 is the last.
 */
export const WEBHOOK_RETRY_SCHEDULE_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000] as const;

/**
 * The result of a flow run, as a callback delivers it: `output` (the last step's) when it succeeded,
 * `error` otherwise, as on the run's execution: a safe `code` and a message, and for a run that failed in a
 * step, `code: "step_failed"` with `step` naming it. Times are ISO 8601
 * UTC; `durationMs` in ms.
 */
export const FlowRunResult = z.object({
  executionId: z.string(),
  flowId: z.string(),
  status: ExecutionStatus,
  output: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), step: z.string().optional() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().int().nullable(),
});
export type FlowRunResult = z.infer<typeof FlowRunResult>;

/**
 * The JSON body of a webhook callback. `id` (`whe_…`) names the event and is the same on every retry (it is
 * also the `Idempotency-Key` header); `createdAt` is when the run finished and the event was made, not when
 * this attempt was sent.
 */
export const WebhookEvent = z.object({
  id: z.string().regex(/^whe_[0-9a-z]{24}$/),
  type: WebhookEventType,
  createdAt: z.string(),
  data: FlowRunResult,
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/**
 * One delivery attempt of a webhook event (`whd_…`). `outcome` is `succeeded` for a 2xx answer, else
 * `failed` with the HTTP `status` the receiver answered (or `null` when there was none) and a safe
 * `errorCode`: `http_error` (a 4xx or 5xx answer), `redirect_not_followed` (a 3xx answer: like Stripe,
 * Fleece never follows redirects, so a callback cannot be bounced to an internal address), `timeout`,
 * `connection_failed`, `dns_failed`, `tls_failed`, `address_blocked` (the host resolved to a private,
 * loopback, link-local or metadata address), `invalid_callback_url` (the URL no longer passes the checks a
 * flow's callbackUrl gets), `flow_unavailable` (the flow or its signing secret was deleted; nothing sent),
 * `callback_changed` (the flow's callbackUrl changed or was removed after the event was made; nothing sent,
 * neither to the old URL nor to the new one). `address_blocked`, `invalid_callback_url`, `flow_unavailable`
 * and `callback_changed` are not retried.
 * `responseExcerpt` is at most the first 256 characters of the answer's body, printable text only.
 * `nextAttemptAt` says when the retry is due, `null` after the last attempt or a success.
 */
export const WebhookDelivery = z.object({
  id: z.string().regex(/^whd_[0-9a-z]{24}$/),
  eventId: z.string(),
  eventType: WebhookEventType,
  executionId: z.string(),
  url: z.string(),
  attempt: z.number().int().positive(),
  outcome: z.enum(['succeeded', 'failed']),
  status: z.number().int().nullable(),
  errorCode: z.string().nullable(),
  responseExcerpt: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
  attemptedAt: z.string(),
  nextAttemptAt: z.string().nullable(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** One page of delivery attempts, newest first. */
export const WebhookDeliveryPage = pageOf(WebhookDelivery);
export type WebhookDeliveryPage = z.infer<typeof WebhookDeliveryPage>;

/** Path parameters of `GET /api/v1/executions/:id/deliveries`. */
export const WebhookDeliveryParams = ExecutionParams;
export type WebhookDeliveryParams = z.infer<typeof WebhookDeliveryParams>;

/** Query of `GET /api/v1/executions/:id/deliveries`: the page. */
export const WebhookDeliveryListQuery = PageQuery;
export type WebhookDeliveryListQuery = z.infer<typeof WebhookDeliveryListQuery>;
