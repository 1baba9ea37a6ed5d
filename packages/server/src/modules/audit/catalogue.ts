/**
 * The audit event catalogue (docs/security.md, "Event catalogue"): every action Fleece records, as one typed table. The feature
 * that owns an action records it through `app.audit.record` inside the transaction of the change (or
 * `recordDetached` for attempts that change nothing). docs/security.md lists this table; a test keeps the
 * two in step.
 *
 * Each entry names its `area` (what claim C22 groups by) and when it is recorded. Action names are
 * lower-case dotted words, `<resource>.<verb>`, and are never renamed: audit consumers filter on them.
 */
export const AUDIT_CATALOGUE = {
  // authentication
  'auth.login.succeeded': { area: 'authentication', description: 'A user signed in (any method).' },
  'auth.login.failed': {
    area: 'authentication',
    description: 'A sign-in attempt failed (bad or expired link, provider error, suspended account).',
  },
  'auth.logout': { area: 'authentication', description: 'A user signed out, ending the session.' },
  'auth.magic_link.requested': { area: 'authentication', description: 'A magic sign-in link was emailed.' },
  'auth.device.authorized': {
    area: 'authentication',
    description: 'A user approved a device authorization request (RFC 8628).',
  },
  'auth.device.denied': {
    area: 'authentication',
    description: 'A user denied a device authorization request (RFC 8628).',
  },
  'auth.cli.authorized': {
    area: 'authentication',
    description: 'The CLI received tokens through the browser sign-in with PKCE.',
  },
  // sessions
  'session.revoked': {
    area: 'authentication',
    description: 'A session was revoked by its user or an admin.',
  },
  'session.refresh_reuse_detected': {
    area: 'authentication',
    description: 'A rotated refresh token was presented again; its session was revoked.',
  },
  // API keys
  'api_key.created': {
    area: 'credentials',
    description: 'An API key was created (its secret is never logged).',
  },
  'api_key.revoked': { area: 'credentials', description: 'An API key was revoked.' },
  'api_key.expired_rejected': {
    area: 'credentials',
    description: 'A request presented an expired API key and was refused.',
  },
  // agents, executions, flows, chat
  'agent.created': { area: 'data', description: 'An agent was created.' },
  'agent.updated': { area: 'data', description: 'An agent was changed.' },
  'agent.deleted': { area: 'data', description: 'An agent was deleted.' },
  'agent.executed': { area: 'data', description: 'An agent execution was started.' },
  'execution.cancelled': { area: 'data', description: 'A running execution was cancelled.' },
  'flow.created': { area: 'data', description: 'A flow was created.' },
  'flow.updated': { area: 'data', description: 'A flow was changed.' },
  'flow.deleted': { area: 'data', description: 'A flow was deleted.' },
  'flow.triggered': { area: 'data', description: 'A flow run was triggered.' },
  'chat.conversation.deleted': { area: 'data', description: 'A chat conversation was deleted.' },
  // data access
  'data.exported': { area: 'data_access', description: 'A user exported their data.' },
  'audit.accessed': {
    area: 'data_access',
    description: 'Audit events were read (list, stream or verify); at most one per reader, view and minute.',
  },
  // account and consent
  'account.updated': { area: 'account', description: 'Account settings (name, email) were changed.' },
  'account.deletion_requested': {
    area: 'account',
    description: 'A user asked for their account to be deleted.',
  },
  'account.deletion_cancelled': { area: 'account', description: 'A pending account deletion was cancelled.' },
  'account.deleted': {
    area: 'account',
    description: 'An account was purged; its subject mapping is deleted in the same transaction.',
  },
  'consent.granted': { area: 'consent', description: 'A user granted a consent.' },
  'consent.revoked': { area: 'consent', description: 'A user revoked a consent.' },
  // billing
  'billing.checkout_started': { area: 'billing', description: 'A user started a Stripe checkout.' },
  'billing.plan_changed': {
    area: 'billing',
    description: "A user's plan changed (upgrade, downgrade, lapse).",
  },
  'billing.payment_failed': { area: 'billing', description: 'Stripe reported a failed payment.' },
  // administration
  'admin.plan_overridden': { area: 'admin', description: "An admin set a user's plan or Enterprise limits." },
  'admin.user_suspended': { area: 'admin', description: 'An admin suspended (or reinstated) a user.' },
  // security signals (recorded detached and throttled)
  'security.rate_limit_exceeded': {
    area: 'security',
    description: 'A caller hit a rate limit; at most one per limit key and window.',
  },
  'security.redirect_blocked': {
    area: 'security',
    description: 'A redirect target failed validation (open-redirect attempt).',
  },
  'security.cross_tenant_denied': {
    area: 'security',
    description: "A caller asked for another tenant's resource and got a 404; throttled.",
  },
} as const satisfies Record<string, { area: AuditArea; description: string }>;

/** The groups of the catalogue. */
export type AuditArea =
  | 'authentication'
  | 'credentials'
  | 'data'
  | 'data_access'
  | 'account'
  | 'consent'
  | 'billing'
  | 'admin'
  | 'security';

/** One action of the audit catalogue, such as `api_key.created`. */
export type AuditAction = keyof typeof AUDIT_CATALOGUE;

/** Every action of the catalogue, in catalogue order. */
export const AUDIT_ACTIONS = Object.keys(AUDIT_CATALOGUE) as AuditAction[];

/** Whether `value` is an action of the catalogue. */
export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(AUDIT_CATALOGUE, value);
}
