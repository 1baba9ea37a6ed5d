import type { FastifyInstance } from 'fastify';

/**
 * The audit log as the identity services see it: the `app.audit` facade of src/modules/audit, and the
 * types of its arguments, derived from it so the two cannot drift.
 */
export type Audit = FastifyInstance['audit'];
/** Who acted, from where (`auditContext(request)`). */
export type AuditCtx = Parameters<Audit['record']>[1];
/** One audit event: action, resource, outcome, metadata, subject. */
export type AuditEvent = Parameters<Audit['record']>[2];

/** The same context with the acting user filled in, for requests that authenticate during the request. */
export function asUser(ctx: AuditCtx, userId: string): AuditCtx {
  return { ...ctx, actor: { type: 'user', userId } };
}
