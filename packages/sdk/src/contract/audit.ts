import { z } from 'zod';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, pageOf } from './pagination.js';

/**
 * The audit log API (`/api/v1/audit-events`, and over every user `/api/v1/admin/audit-events`):
 *
 * - `GET …/audit-events`: the caller's events, newest first, filtered by {@link AuditEventListQuery};
 *   an {@link AuditEventPage};
 * - `GET …/audit-events/stream`: Server-Sent Events (`text/event-stream`), one `event: audit.event` per
 *   audit event with `id: evt_…` and a JSON {@link AuditEvent} as `data:`, a `: ping` comment every
 *   {@link AUDIT_STREAM_HEARTBEAT_SECONDS} s; reconnect with `Last-Event-ID` to replay what was missed;
 * - `GET …/audit-events/verify`: checks the hash chain; an {@link AuditVerifyResponse}.
 */

/** An audit event id: `evt_` and a positive integer; ids grow monotonically. */
export const AuditEventId = z.string().regex(/^evt_[1-9][0-9]{0,15}$/, 'an audit event id such as evt_42');
export type AuditEventId = z.infer<typeof AuditEventId>;

/** Who performed an action: a signed-in `user`, an `api_key`, an `admin`, or the `system` itself. */
export const AuditActorType = z.enum(['user', 'api_key', 'admin', 'system']);
export type AuditActorType = z.infer<typeof AuditActorType>;

/** How an action ended: `success`, `failure` (it was attempted and failed) or `denied` (not allowed). */
export const AuditOutcome = z.enum(['success', 'failure', 'denied']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

/** The `event:` name of every audit event on the stream. */
export const AUDIT_STREAM_EVENT = 'audit.event';
/** Seconds between two `: ping` comments on an idle stream. */
export const AUDIT_STREAM_HEARTBEAT_SECONDS = 15;

const Hash = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters (SHA-256)');
const Subject = z.string().regex(/^sub_[0-9a-f]{32}$/);

/**
 * One audit event.
 *
 * - `id`: `evt_<n>`, monotonically increasing;
 * - `occurredAt`: ISO 8601 UTC with milliseconds;
 * - `chain`: the hash chain it belongs to: the pseudonymous subject (`sub_…`) of the person whose log
 *   holds it, or `system`;
 * - `actor`: `type`; `subject`, the actor's pseudonymous subject (never a user id or email; `null` for the
 *   system and unauthenticated callers); `apiKeyId` (`key_…`) when the actor used an API key;
 * - `action`: from the audit catalogue (docs/security.md), such as `api_key.created`;
 * - `resourceType` / `resourceId`: what was acted on (a user is named by their subject);
 * - `metadata`: at most 50 keys, strings at most 500 characters;
 * - `ip` / `userAgent`: of the request, when known and still readable (`null` once the subject is
 *   deleted, and in a user's own list for actions others took in it);
 * - `requestId`: the `X-Request-Id` of the request that caused it;
 * - `prevHash` / `hash`: the hash chain links (SHA-256, hex).
 */
export const AuditEvent = z.object({
  id: AuditEventId,
  occurredAt: z.iso.datetime(),
  chain: z.union([z.literal('system'), Subject]),
  actor: z.object({
    type: AuditActorType,
    subject: Subject.nullable(),
    apiKeyId: z.string().nullable(),
  }),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  outcome: AuditOutcome,
  metadata: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  prevHash: Hash,
  hash: Hash,
});
export type AuditEvent = z.infer<typeof AuditEvent>;

const listFilters = {
  limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  cursor: z.string().min(1).max(512).optional(),
  /** Action prefix: `api_key.` matches every API key action, `api_key.created` only that one. */
  action: z
    .string()
    .regex(/^[a-z_.]{1,64}$/, 'an action or action prefix of lower-case letters, dots and underscores')
    .optional(),
  resourceType: z.string().min(1).max(64).optional(),
  resourceId: z.string().min(1).max(200).optional(),
  outcome: AuditOutcome.optional(),
  /** Events at or after this instant (ISO 8601 with a time zone). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Events before this instant (ISO 8601 with a time zone). */
  until: z.iso.datetime({ offset: true }).optional(),
};

const sinceNotAfterUntil = (q: { since?: string | undefined; until?: string | undefined }) =>
  q.since === undefined || q.until === undefined || Date.parse(q.since) <= Date.parse(q.until);
const sinceError = { error: 'since must not be later than until', path: ['since'] };

/**
 * Query of `GET /api/v1/audit-events`: `limit` (1–100, default 20) and `cursor` (the previous page's
 * `nextCursor`), and the filters `action` (prefix), `resourceType`, `resourceId`, `outcome`, `since`
 * (inclusive) and `until` (exclusive). Unknown parameters are rejected; `since` after `until` is a 400.
 */
export const AuditEventListQuery = z.strictObject(listFilters).refine(sinceNotAfterUntil, sinceError);
export type AuditEventListQuery = z.input<typeof AuditEventListQuery>;

/**
 * Query of `GET /api/v1/admin/audit-events`: the filters of {@link AuditEventListQuery} plus `chain` (one
 * subject's log, or `system`) and `actorSubject` (what one person did, in any log).
 */
export const AdminAuditEventListQuery = z
  .strictObject({
    ...listFilters,
    chain: z.union([z.literal('system'), Subject]).optional(),
    actorSubject: Subject.optional(),
  })
  .refine(sinceNotAfterUntil, sinceError);
export type AdminAuditEventListQuery = z.input<typeof AdminAuditEventListQuery>;

/** One page of audit events, newest first. */
export const AuditEventPage = pageOf(AuditEvent);
export type AuditEventPage = z.infer<typeof AuditEventPage>;

/** Query of the stream and verify routes: none; unknown parameters are rejected. */
export const AuditEmptyQuery = z.strictObject({});

/**
 * Answer of `GET …/audit-events/verify`: whether every checked chain is intact, how many events were
 * checked, and, when not, the first broken event (lowest id) and why:
 * `hash_mismatch` (the event was edited or moved) or `link_mismatch` (an event before it was deleted or
 * inserted).
 */
export const AuditVerifyResponse = z.object({
  valid: z.boolean(),
  checked: z.number().int().nonnegative(),
  firstBrokenEventId: AuditEventId.optional(),
  reason: z.enum(['hash_mismatch', 'link_mismatch']).optional(),
});
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponse>;
