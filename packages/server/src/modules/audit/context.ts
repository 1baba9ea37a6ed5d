import type { FastifyRequest } from 'fastify';

/** Who can act: a signed-in `user`, an `api_key`, an `admin`, or the `system` itself. */
export const AUDIT_ACTOR_TYPES = ['user', 'api_key', 'admin', 'system'] as const;

/**
 * Who acted. `userId` is the acting person (`usr_…`; absent for `system`, and for unauthenticated callers,
 * which are recorded as a `user` without a subject); `apiKeyId` (`key_…`) is required for `api_key`.
 */
export interface AuditActor {
  type: (typeof AUDIT_ACTOR_TYPES)[number];
  userId?: string;
  apiKeyId?: string;
}

/**
 * The request an event came from: the actor, the client's IP address (IPv4 or IPv6; anything else is
 * dropped), its `User-Agent` and the request id (`X-Request-Id`).
 */
export interface AuditContext {
  actor: AuditActor;
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/** The context of work the server does on its own (purges, retention, webhooks): the `system` actor. */
export const SYSTEM_AUDIT_CONTEXT: AuditContext = Object.freeze({ actor: Object.freeze({ type: 'system' }) });

/**
 * Builds the {@link AuditContext} of a request: the principal as actor (an admin's session is `admin`, an
 * API key `api_key`, any other session `user`; no principal is a `user` without an id), the client IP as
 * Fastify resolves it (through `FLEECE_TRUST_PROXY` only), the `User-Agent` and the request id.
 */
export function auditContext(request: FastifyRequest): AuditContext {
  const p = request.principal;
  const actor: AuditActor = !p
    ? { type: 'user' }
    : p.type === 'api_key'
      ? { type: 'api_key', userId: p.userId, ...(p.apiKeyId ? { apiKeyId: p.apiKeyId } : {}) }
      : { type: p.role === 'admin' ? 'admin' : 'user', userId: p.userId };
  const userAgent = request.headers['user-agent'];
  return { actor, ip: request.ip, ...(userAgent ? { userAgent } : {}), requestId: request.id };
}
