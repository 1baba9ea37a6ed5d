import { and, eq, gt, isNull } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import { magicLinkTokens } from '../../db/schema/identity.js';
import { withScope } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { hashSecret, newId, randomSecret } from '../../lib/secrets.js';
import type { Audit, AuditCtx } from './audit.js';
import type { Mailer } from './mailer.js';
import type { BrowserSignIn } from './signin.service.js';
import { normaliseEmail, SignInRefused, type UserService } from './users.service.js';

/** Lifetime of a magic-link token, in ms (15 minutes). */
export const MAGIC_LINK_TTL_MS = 15 * 60_000;

/** The path of the page a magic link opens; it asks for one click before the token is used. */
export const MAGIC_LINK_PAGE = '/login/magic';

/** What {@link MagicLinkService} is built from (its dependencies and settings). */
export interface MagicLinkServiceOptions {
  db: Db;
  clock: Clock;
  publicUrl: string;
  users: UserService;
  signIn: BrowserSignIn;
  mailer: Mailer;
  audit: Audit;
  log: FastifyBaseLogger;
}

/**
 * Magic-link sign-in: a 256-bit token, stored hashed, mailed as `${FLEECE_PUBLIC_URL}/login/magic?token=…`,
 * valid for 15 minutes and consumed atomically (one `UPDATE … WHERE consumed_at IS NULL RETURNING`), so
 * two simultaneous uses give exactly one session. The link opens a page that asks for a click, so mail
 * scanners that fetch links do not use the token up.
 */
export class MagicLinkService {
  constructor(private readonly deps: MagicLinkServiceOptions) {}

  /**
   * Creates a token for `email` and sends the link, whether or not an account exists (it is created on
   * first use). Records `auth.magic_link.requested`. A failure to send is logged, not reported: the
   * answer must not depend on the address.
   * @param returnTo an already validated same-origin path.
   */
  async request(email: string, returnTo: string, ctx: AuditCtx): Promise<void> {
    const token = randomSecret();
    const now = this.deps.clock.now();
    const existing = await this.deps.users.byEmail(email);
    const tokenHash = hashSecret(token);
    // The token's own scope: its row is visible (and insertable) through its hash only.
    await withScope(this.deps.db, { credential: tokenHash }, async (tx) => {
      const id = newId('mlt');
      await tx.insert(magicLinkTokens).values({
        id,
        tokenHash,
        email: normaliseEmail(email),
        returnTo,
        requestIp: ctx.ip ?? null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + MAGIC_LINK_TTL_MS),
      });
      await this.deps.audit.record(tx, ctx, {
        action: 'auth.magic_link.requested',
        resourceType: 'magic_link',
        resourceId: id,
        outcome: 'success',
        ...(existing ? { subjectUserId: existing.id } : {}),
      });
    });
    const link = `${this.deps.publicUrl}${MAGIC_LINK_PAGE}?token=${token}`;
    try {
      await this.deps.mailer.sendMagicLink(email.trim(), link, MAGIC_LINK_TTL_MS / 60_000);
    } catch (error) {
      this.deps.log.error({ err: error }, 'magic-link email was not sent');
    }
  }

  /**
   * Uses a magic-link token: consumes it atomically, signs the address's account in (creating it on first
   * use) with a new browser session, and records `auth.login.succeeded`.
   * @returns the session and where to go next, or `undefined` (recorded as `auth.login.failed`) when the
   *   token is unknown, used or expired, or the account cannot sign in.
   */
  async consume(token: string, ctx: AuditCtx) {
    const now = this.deps.clock.now();
    const tokenHash = hashSecret(token);
    try {
      const result = await withScope(this.deps.db, { credential: tokenHash }, async (tx) => {
        const [row] = await tx
          .update(magicLinkTokens)
          .set({ consumedAt: now })
          .where(
            and(
              eq(magicLinkTokens.tokenHash, tokenHash),
              isNull(magicLinkTokens.consumedAt),
              gt(magicLinkTokens.expiresAt, now),
            ),
          )
          .returning();
        if (!row) return undefined;
        const { user } = await this.deps.users.signInWithEmail(tx, row.email);
        const session = await this.deps.signIn.startBrowserSession(tx, user, 'magic_link', ctx);
        return { user, session, returnTo: row.returnTo };
      });
      if (!result) {
        await this.deps.signIn.recordFailure(ctx, 'magic_link', 'invalid_or_used_token');
        return undefined;
      }
      return result;
    } catch (error) {
      if (error instanceof SignInRefused) {
        await this.deps.signIn.recordFailure(ctx, 'magic_link', error.reason);
        return undefined;
      }
      throw error;
    }
  }
}
