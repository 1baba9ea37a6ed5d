import type { Db } from '../../db/client.js';
import { clientAddressSubject } from '../../lib/client-address.js';
import { type Audit, type AuditCtx, asUser } from './audit.js';
import type { SessionService } from './sessions.service.js';
import type { UserRow } from './users.service.js';

/** How a browser session was signed in. */
export type BrowserSignInMethod = 'magic_link' | 'google' | 'github' | 'entra';

/** How long the same kind of failure from one address is recorded once, in ms (audit throttle window). */
const FAILURE_AUDIT_WINDOW_MS = 60_000;

/** The client-address subject the throttles of these records count by (`-` without an address). */
function subjectOf(ctx: AuditCtx): string {
  return ctx.ip ? clientAddressSubject(ctx.ip) : '-';
}

/** What {@link BrowserSignIn} is built from (its dependencies and settings). */
export interface BrowserSignInOptions {
  sessions: SessionService;
  audit: Audit;
}

/**
 * The last step of every browser sign-in (magic link, OAuth providers): a new browser session and the
 * `auth.login.succeeded` event, in the caller's transaction; and the records of what went wrong
 * (`auth.login.failed`, `security.redirect_blocked`), which never throw and are throttled per client (IPv6 by /64).
 */
export class BrowserSignIn {
  constructor(private readonly deps: BrowserSignInOptions) {}

  /** Creates a browser session for `user` inside `tx` and records `auth.login.succeeded`. */
  async startBrowserSession(tx: Db, user: UserRow, method: BrowserSignInMethod, ctx: AuditCtx) {
    const session = await this.deps.sessions.create(tx, {
      userId: user.id,
      kind: 'browser',
      method,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent ?? null,
    });
    await this.deps.audit.record(tx, asUser(ctx, user.id), {
      action: 'auth.login.succeeded',
      resourceType: 'session',
      resourceId: session.id,
      outcome: 'success',
      subjectUserId: user.id,
      metadata: { method },
    });
    return session;
  }

  /** Records `auth.login.failed` (outcome `failure`) with the method and a stable reason. */
  async recordFailure(ctx: AuditCtx, method: string, reason: string, subjectUserId?: string): Promise<void> {
    await this.deps.audit.recordDetached(
      ctx,
      {
        action: 'auth.login.failed',
        resourceType: 'session',
        outcome: 'failure',
        metadata: { method, reason },
        ...(subjectUserId ? { subjectUserId } : {}),
      },
      {
        throttleKey: `auth.login.failed:${subjectOf(ctx)}:${method}:${reason}`,
        windowMs: FAILURE_AUDIT_WINDOW_MS,
      },
    );
  }

  /** Records `security.redirect_blocked` (outcome `denied`) for a refused redirect target. */
  async recordBlockedRedirect(ctx: AuditCtx, parameter: string, value: string): Promise<void> {
    await this.deps.audit.recordDetached(
      ctx,
      {
        action: 'security.redirect_blocked',
        resourceType: 'redirect',
        outcome: 'denied',
        metadata: { parameter, value: value.slice(0, 200) },
      },
      { throttleKey: `security.redirect_blocked:${subjectOf(ctx)}`, windowMs: FAILURE_AUDIT_WINDOW_MS },
    );
  }
}
