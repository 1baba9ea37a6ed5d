/**
 * `@fleece/sdk`: the typed client for the Fleece API.
 *
 * The wire contract is re-exported here and available alone from `@fleece/sdk/contract`.
 */

export {
  type ClientOptions,
  DEFAULT_BASE_URL,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  type Fetch,
  Fleece,
  type RateLimitEvent,
  type StreamRequestOptions,
} from './client.js';
export * from './contract/index.js';
export { APIPromise } from './core/api-promise.js';
export {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  DeviceCodeExpiredError,
  FleeceError,
  type FleeceErrorOptions,
  InternalServerError,
  NotFleeceServerError,
  type NotFleeceServerReason,
  NotFoundError,
  PaginationLoopError,
  PermissionDeniedError,
  RateLimitError,
  ResponseValidationError,
  UnprocessableEntityError,
} from './core/errors.js';
export { CursorPage, PagePromise } from './core/pagination.js';
export type { FinalRequestOptions, HTTPMethod, RequestOptions } from './core/request-options.js';
export { APIResource } from './core/resource.js';
export {
  DEFAULT_MAX_RETRIES,
  INITIAL_RETRY_DELAY_MS,
  MAX_RETRY_AFTER_MS,
  MAX_RETRY_DELAY_MS,
} from './core/retries.js';
export {
  type DecodeContext,
  decodeEvents,
  type EventDecoder,
  type EventSchemas,
  type ServerSentEvent,
  Stream,
  type TypedEvent,
} from './core/streaming.js';
export type { HeadersLike } from './internal/headers.js';
export type { Logger, LogLevel } from './internal/logger.js';
export type { QueryValue } from './internal/url.js';
export { AUDIT_ACTOR_WORDS, describeAuditActor } from './lib/audit-actor.js';
export {
  ExportVerificationError,
  ExportVerifier,
  type VerifiedExport,
} from './lib/export-verifier.js';
export { nodeFetch } from './lib/node-fetch.js';
export { createPkcePair, createState, type PkcePair, pkceChallenge, verifyState } from './lib/pkce.js';
export {
  computeWebhookSignature,
  DEFAULT_WEBHOOK_TOLERANCE_SEC,
  signWebhookPayload,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_SIGNATURE_SCHEME,
  type WebhookPayload,
  WebhookSignatureError,
  type WebhookSignatureErrorCode,
} from './lib/webhooks.js';
export { Account, AccountConsents } from './resources/account.js';
export { AccountDeletionResource } from './resources/account-deletion.js';
export { Admin, AdminUsers } from './resources/admin.js';
export {
  Agents,
  type ExecuteParams,
  type ExecutionEvent,
  type ExecutionStream,
  executionStream,
} from './resources/agents.js';
export { ApiKeys } from './resources/api-keys.js';
export { Audit, AuditEventStream, type AuditListParams, type AuditStreamParams } from './resources/audit.js';
export type {
  DeviceAuthorizationParams,
  DeviceCodeGrant,
  ExchangeAuthorizationCodeParams,
  PollDeviceTokenOptions,
  RefreshTokenParams,
  RevokeTokenParams,
} from './resources/auth.js';
export { Auth } from './resources/auth.js';
export { Billing } from './resources/billing.js';
export { Chat, type ChatEvent, type ChatParams, Conversations } from './resources/chat.js';
export { Executions } from './resources/executions.js';
export {
  Export,
  type ExportDownload,
  type ExportDownloadOptions,
  type ExportProgress,
} from './resources/export.js';
export { Flows } from './resources/flows.js';
export { Health } from './resources/health.js';
export { Me } from './resources/me.js';
export { Models } from './resources/models.js';
export { Sessions } from './resources/sessions.js';
export { VERSION } from './version.js';
