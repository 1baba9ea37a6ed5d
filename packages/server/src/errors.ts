import type { ProblemCode, ProblemFieldError } from '@fleece/sdk/contract';

/**
 * The HTTP status and title of every problem `code` the API answers with, grouped by area. The codes
 * themselves are the contract's `ProblemCode` enum (`@fleece/sdk/contract`): a code missing here, or one
 * here that the contract lacks, fails to compile. `permanent`: a 5xx that asking again will not change (this server's configuration), sent
 * with `x-should-retry: false` so clients do not retry it. Codes are stable snake_case identifiers: clients branch on them, so a code is never
 * renamed. Problem documents follow RFC 9457.
 */
export const PROBLEMS = {
  // request shape
  bad_request: { status: 400, title: 'Bad Request' },
  validation_failed: { status: 400, title: 'Validation Failed' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  invalid_cursor: { status: 400, title: 'Invalid Cursor' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  uri_too_long: { status: 414, title: 'URI Too Long' },
  headers_too_large: { status: 431, title: 'Request Header Fields Too Large' },
  request_timeout: { status: 408, title: 'Request Timeout' },
  expectation_failed: { status: 417, title: 'Expectation Failed' },
  host_required: { status: 400, title: 'Host Required' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  // routing
  not_found: { status: 404, title: 'Not Found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed' },
  // authentication and authorisation
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  invalid_api_key: { status: 401, title: 'Invalid API Key' },
  api_key_expired: { status: 401, title: 'API Key Expired' },
  api_key_disabled: { status: 403, title: 'API Key Disabled' },
  forbidden: { status: 403, title: 'Forbidden' },
  insufficient_scope: { status: 403, title: 'Insufficient Scope' },
  cross_origin_denied: { status: 403, title: 'Cross-Origin Request Denied' },
  // account deletion
  reauthentication_required: { status: 403, title: 'Reauthentication Required' },
  account_pending_deletion: { status: 403, title: 'Account Pending Deletion' },
  deletion_not_pending: { status: 409, title: 'No Deletion Pending' },
  deletion_in_progress: { status: 409, title: 'Deletion In Progress' },
  // consent (AI processing needs the `ai_processing` consent; the detail says how to grant it)
  consent_required: { status: 403, title: 'Consent Required' },
  // limits
  plan_limit_reached: { status: 403, title: 'Plan Limit Reached' },
  rate_limited: { status: 429, title: 'Too Many Requests' },
  // billing
  billing_not_configured: { status: 503, title: 'Billing Not Configured', permanent: true },
  already_subscribed: { status: 409, title: 'Already Subscribed' },
  no_billing_account: { status: 404, title: 'No Billing Account' },
  billing_provider_error: { status: 502, title: 'Billing Provider Error' },
  invalid_webhook_signature: { status: 400, title: 'Invalid Webhook Signature' },
  // AI models
  unknown_model: { status: 400, title: 'Unknown Model' },
  // agents (an agent a flow's steps use cannot be deleted; the problem names the flows in `flows`)
  agent_in_use: { status: 409, title: 'Agent In Use' },
  // flows
  flow_already_running: { status: 409, title: 'Flow Already Running' },
  // webhook callbacks (a flow's callbackUrl)
  invalid_callback_url: { status: 400, title: 'Invalid Callback URL' },
  // server side
  internal_error: { status: 500, title: 'Internal Server Error' },
  service_unavailable: { status: 503, title: 'Service Unavailable' },
  // data export: this instance already runs its maximum of exports (FLEECE_EXPORT_CONCURRENCY)
  export_busy: { status: 503, title: 'Export Busy' },
} as const satisfies Record<ProblemCode, { status: number; title: string; permanent?: true }>;

/** A stable problem code: the contract's enum, re-exported for the server's modules. */
export type { ProblemCode };

/** Extension members a problem may carry besides the RFC 9457 ones. */
export interface ProblemExtras {
  errors?: ProblemFieldError[];
  upgrade?: boolean;
  [member: string]: unknown;
}

/**
 * An error that becomes an RFC 9457 problem response. Services throw it; the error handler renders it with
 * the status, title and `type` of its code, the request id, and the extras given.
 *
 * @example throw new ProblemError('not_found', 'No agent agt_123 exists.');
 */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ProblemCode,
    /** What went wrong in this occurrence and what to do next; shown to the client. */
    readonly detail: string,
    readonly extras: ProblemExtras = {},
    /** Extra response headers, such as `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }
}

/** The `type` URI of a problem code: a documentation anchor in docs/api.md. */
export function problemType(code: ProblemCode): string {
  return `https://fleece.dev/problems/${code}`;
}
