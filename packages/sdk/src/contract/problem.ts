import { z } from 'zod';

/**
 * One field-level validation failure inside a problem document.
 *
 * `path` is the dotted location of the offending value in the request (for example `body.name` or
 * `query.limit`); `message` says what was expected.
 */
export const ProblemFieldError = z.object({
  path: z.string(),
  message: z.string(),
});
export type ProblemFieldError = z.infer<typeof ProblemFieldError>;

/**
 * Every problem `code` a Fleece server answers with (docs/api.md, "Errors", lists each with its HTTP status):
 * stable snake_case identifiers to branch on, never renamed. The server's table of statuses and titles is
 * keyed by exactly these codes. A newer server may add codes, so a client that meets one it does not know
 * handles it by HTTP status ({@link Problem} keeps `code` a plain string for that reason).
 */
export const ProblemCode = z.enum([
  // request shape
  'bad_request',
  'validation_failed',
  'malformed_json',
  'invalid_cursor',
  'payload_too_large',
  'uri_too_long',
  'headers_too_large',
  'request_timeout',
  'expectation_failed',
  'host_required',
  'unsupported_media_type',
  // routing
  'not_found',
  'method_not_allowed',
  // authentication and authorisation
  'unauthenticated',
  'invalid_api_key',
  'api_key_expired',
  'api_key_disabled',
  'forbidden',
  'insufficient_scope',
  'cross_origin_denied',
  // account deletion
  'reauthentication_required',
  'account_pending_deletion',
  'deletion_not_pending',
  'deletion_in_progress',
  // consent
  'consent_required',
  // limits
  'plan_limit_reached',
  'rate_limited',
  // billing
  'billing_not_configured',
  'already_subscribed',
  'no_billing_account',
  'billing_provider_error',
  'invalid_webhook_signature',
  // AI models
  'unknown_model',
  // agents
  'agent_in_use',
  // flows
  'flow_already_running',
  // webhook callbacks
  'invalid_callback_url',
  // server side
  'internal_error',
  'service_unavailable',
  // data export
  'export_busy',
]);
export type ProblemCode = z.infer<typeof ProblemCode>;

/**
 * RFC 9457 problem details, as every Fleece error response carries with
 * `Content-Type: application/problem+json`.
 *
 * - `type`: a URI naming the problem kind; `title`: its short human summary; `status`: the HTTP status;
 * - `detail`: what went wrong in this occurrence and what to do next;
 * - `code`: a stable snake_case identifier (for example `rate_limited`, `plan_limit_reached`) to branch on:
 *   one of {@link ProblemCode}, or a code added by a newer server;
 * - `requestId`: the `X-Request-Id` of the failed request, for support;
 * - `errors`: field paths and messages on validation failures;
 * - `upgrade`: `true` when a plan limit was hit and a higher plan lifts it.
 *
 * Unknown members are kept (RFC 9457 §3.2 allows extension members).
 */
export const Problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  requestId: z.string().optional(),
  errors: z.array(ProblemFieldError).optional(),
  upgrade: z.boolean().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** The start of the `type` URI of every problem a Fleece server sends (`…/problems/<code>`). */
export const FLEECE_PROBLEM_TYPE_PREFIX = 'https://fleece.dev/problems/';

/**
 * Whether `body` is a problem document of a Fleece server: an RFC 9457 {@link Problem} with a `code` and
 * a `type` under {@link FLEECE_PROBLEM_TYPE_PREFIX}. Another web app's 404 (an HTML page, `{"error": …}`,
 * or another service's problem+json) is not.
 */
export function isFleeceProblem(body: unknown): boolean {
  const parsed = Problem.safeParse(body);
  return parsed.success && parsed.data.type.startsWith(FLEECE_PROBLEM_TYPE_PREFIX);
}
