import { createHash, createHmac } from 'node:crypto';
import { DEFAULT_CLIENT_ID, type TokenResponse } from '@fleece/sdk/contract';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { authorizationCodes, refreshTokens, sessions, users } from '../../db/schema/identity.js';
import { enterScope, withScope, withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { constantTimeEqual, hashSecret, newId, randomSecret } from '../../lib/secrets.js';
import { type Audit, type AuditCtx, asUser } from './audit.js';
import { OAuthError } from './oauth-error.js';
import { SESSION_TIMEOUTS, type SessionService } from './sessions.service.js';
import { deriveKey, type TokenService } from './tokens.js';

/** The OAuth clients this server knows: public clients (no secret), identified by `client_id` only. */
export const KNOWN_CLIENTS: ReadonlySet<string> = new Set([DEFAULT_CLIENT_ID]);

/**
 * How long after a rotation a retry of it (same refresh token, same `Idempotency-Key`) is answered with
 * the same token response again, in ms; only while the successor it issued has not been used.
 */
export const REFRESH_RETRY_GRACE_MS = 60_000;

/** Throws `invalid_client` (RFC 6749 §5.2) unless `clientId` is a known client. */
export function assertKnownClient(clientId: string): void {
  if (!KNOWN_CLIENTS.has(clientId)) {
    throw new OAuthError('invalid_client', `Unknown client_id "${clientId.slice(0, 64)}".`);
  }
}

/** What a successful grant produced, before the response is sent. */
interface Issued {
  response: TokenResponse;
  sessionId: string;
}

/** An error answer whose side effects (revocation, audit) must commit. */
type Outcome = { ok: true; issued: Issued } | { ok: false; error: OAuthError; payload?: string };

/** What {@link GrantService} is built from (its dependencies and settings). */
export interface GrantServiceOptions {
  db: Db;
  clock: Clock;
  tokens: TokenService;
  sessions: SessionService;
  audit: Audit;
  /** The root secret (`FLEECE_SECRET`). */
  secret: string;
}

/**
 * The CLI's token grants (RFC 6749, RFC 7636, RFC 8628 token issue, RFC 7009): issuing a CLI session with
 * an access token and a refresh token, exchanging a loopback authorization code with its PKCE verifier,
 * rotating refresh tokens with reuse detection, and revocation.
 *
 * The refresh-token family is the CLI session: every rotation keeps the session and replaces the token;
 * presenting a token that was already rotated revokes the session, so both the thief's and the owner's
 * tokens stop working (`session.refresh_reuse_detected`).
 */
export class GrantService {
  /** HMAC key of the answers of rotations with an `Idempotency-Key` ({@link rotationSecrets}). */
  private readonly retryKey: Uint8Array;

  constructor(private readonly deps: GrantServiceOptions) {
    const { secret } = deps;
    this.retryKey = deriveKey(secret, 'refresh-retry');
  }

  /**
   * The secrets of the answer to rotating `refreshToken` under `idempotencyKey`: the successor refresh
   * token (32 bytes, base64url, like {@link randomSecret}) and the access token's `jti` (12 bytes,
   * base64url), each HMAC-SHA-256 (RFC 2104) under a key derived from the root secret. Deterministic, so a
   * retry of the same request can be answered with the identical response without the database holding
   * any token in the clear; unpredictable without the server's secret and the presented token (which is
   * stored only hashed).
   */
  private rotationSecrets(
    refreshToken: string,
    idempotencyKey: string,
  ): { refreshToken: string; jti: string } {
    const mac = (label: string) =>
      createHmac('sha256', this.retryKey)
        .update(`${label}\0${refreshToken}\0${idempotencyKey}`, 'utf8')
        .digest();
    return {
      refreshToken: mac('refresh_token').toString('base64url'),
      jti: mac('jti').subarray(0, 12).toString('base64url'),
    };
  }

  private refreshExpiry(now: Date, absoluteExpiresAt: Date): Date {
    return new Date(Math.min(now.getTime() + SESSION_TIMEOUTS.cli.idleMs, absoluteExpiresAt.getTime()));
  }

  /** Inserts a refresh token of `session`: `token` when given (a derived one), else a random one. */
  private async newRefreshToken(
    tx: Db,
    session: { id: string; userId: string; absoluteExpiresAt: Date },
    token: string = randomSecret(),
  ) {
    const now = this.deps.clock.now();
    const id = newId('rtk');
    const absoluteExpiresAt = session.absoluteExpiresAt;
    await tx.insert(refreshTokens).values({
      id,
      sessionId: session.id,
      userId: session.userId,
      tokenHash: hashSecret(token),
      createdAt: now,
      expiresAt: this.refreshExpiry(now, absoluteExpiresAt),
    });
    return { id, token };
  }

  private async response(
    userId: string,
    sessionId: string,
    refreshToken: string,
    fixed?: { issuedAt: Date; jti: string },
  ): Promise<TokenResponse> {
    const { token, expiresIn } = await this.deps.tokens.issueAccessToken('cli', userId, sessionId, fixed);
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken };
  }

  /**
   * Inside `tx`: creates a CLI session for `userId` and its first refresh token, records
   * `auth.login.succeeded`, and returns the token response (RFC 6749 §5.1). Enters `userId`'s tenant scope
   * on `tx` first.
   */
  async issueForNewSession(
    tx: Db,
    input: { userId: string; clientId: string; method: 'device' | 'cli'; ctx: AuditCtx },
  ): Promise<Issued> {
    await enterScope(tx, { userId: input.userId });
    const session = await this.deps.sessions.create(tx, {
      userId: input.userId,
      kind: 'cli',
      method: input.method,
      clientId: input.clientId,
      ip: input.ctx.ip ?? null,
      userAgent: input.ctx.userAgent ?? null,
    });
    const { token } = await this.newRefreshToken(tx, session);
    await this.deps.audit.record(tx, asUser(input.ctx, input.userId), {
      action: 'auth.login.succeeded',
      resourceType: 'session',
      resourceId: session.id,
      outcome: 'success',
      subjectUserId: input.userId,
      metadata: { method: input.method, clientId: input.clientId },
    });
    return { response: await this.response(input.userId, session.id, token), sessionId: session.id };
  }

  /**
   * Inside `tx`: revokes a session as the answer to a detected replay, recording `event` (a
   * `session.refresh_reuse_detected`), and returns the invalidation payload.
   */
  private async revokeForReplay(
    tx: Db,
    sessionId: string,
    userId: string,
    reason: string,
    ctx: AuditCtx,
  ): Promise<string | undefined> {
    const revoked = await this.deps.sessions.revoke(tx, sessionId, reason);
    await this.deps.audit.record(tx, ctx, {
      action: 'session.refresh_reuse_detected',
      resourceType: 'session',
      resourceId: sessionId,
      outcome: 'denied',
      subjectUserId: userId,
      metadata: { reason },
    });
    return revoked?.payload;
  }

  /** Runs a grant in the scope of the presented credential (`credentialHash`), settling its outcome. */
  private async run(credentialHash: string, work: (tx: Db) => Promise<Outcome>): Promise<Issued> {
    const outcome = await withScope(this.deps.db, { credential: credentialHash }, work);
    if (!outcome.ok) {
      if (outcome.payload) this.deps.sessions.afterCommit(outcome.payload);
      throw outcome.error;
    }
    return outcome.issued;
  }

  /**
   * Creates a one-time authorization code for the loopback flow (RFC 8252), valid for 60 s, bound to the
   * user, client, exact redirect URI and S256 challenge. Records `auth.cli.authorized`.
   * @returns the code (plaintext, shown once).
   */
  async createAuthorizationCode(input: {
    userId: string;
    clientId: string;
    redirectUri: string;
    codeChallenge: string;
    ctx: AuditCtx;
  }): Promise<string> {
    const code = randomSecret();
    const now = this.deps.clock.now();
    await withUser(this.deps.db, input.userId, async (tx) => {
      const id = newId('acd');
      await tx.insert(authorizationCodes).values({
        id,
        codeHash: hashSecret(code),
        userId: input.userId,
        clientId: input.clientId,
        redirectUri: input.redirectUri,
        codeChallenge: input.codeChallenge,
        createdAt: now,
        expiresAt: new Date(now.getTime() + AUTHORIZATION_CODE_TTL_MS),
      });
      await this.deps.audit.record(tx, input.ctx, {
        action: 'auth.cli.authorized',
        resourceType: 'authorization_code',
        resourceId: id,
        outcome: 'success',
        subjectUserId: input.userId,
        metadata: { clientId: input.clientId, redirectPort: new URL(input.redirectUri).port },
      });
    });
    return code;
  }

  /**
   * `grant_type=authorization_code` (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6). The code is consumed
   * atomically before anything else is checked, so a wrong verifier burns it too. A code presented again
   * revokes the session it produced (RFC 6749 §4.1.2).
   * @throws {OAuthError} `invalid_grant` for an unknown, reused or expired code, a different client or
   *   redirect URI, or a verifier that does not match the challenge.
   */
  exchangeAuthorizationCode(input: {
    code: string;
    codeVerifier: string;
    redirectUri: string;
    clientId: string;
    ctx: AuditCtx;
  }): Promise<Issued> {
    assertKnownClient(input.clientId);
    const invalid = (why: string) => new OAuthError('invalid_grant', why);
    const hash = hashSecret(input.code);
    return this.run(hash, async (tx) => {
      const now = this.deps.clock.now();
      const [row] = await tx
        .update(authorizationCodes)
        .set({ consumedAt: now })
        .where(and(eq(authorizationCodes.codeHash, hash), isNull(authorizationCodes.consumedAt)))
        .returning();
      if (!row) {
        const [used] = await tx
          .select()
          .from(authorizationCodes)
          .where(eq(authorizationCodes.codeHash, hash))
          .for('update');
        if (used?.sessionId) {
          await enterScope(tx, { userId: used.userId });
          const payload = await this.revokeForReplay(
            tx,
            used.sessionId,
            used.userId,
            'authorization_code_reuse',
            input.ctx,
          );
          return { ok: false, error: invalid('The authorization code was already used.'), payload };
        }
        return { ok: false, error: invalid('The authorization code is unknown or was already used.') };
      }
      if (now >= row.expiresAt) return { ok: false, error: invalid('The authorization code has expired.') };
      if (row.clientId !== input.clientId) {
        return { ok: false, error: invalid('The authorization code was issued to another client.') };
      }
      if (row.redirectUri !== input.redirectUri) {
        return { ok: false, error: invalid('redirect_uri does not match the authorization request.') };
      }
      const challenge = createHash('sha256').update(input.codeVerifier, 'ascii').digest('base64url');
      if (!constantTimeEqual(challenge, row.codeChallenge)) {
        return { ok: false, error: invalid('code_verifier does not match the code_challenge.') };
      }
      await enterScope(tx, { userId: row.userId });
      const [user] = await tx.select({ status: users.status }).from(users).where(eq(users.id, row.userId));
      // An account pending deletion may sign in (to cancel it); a suspended one may not.
      if (!user || user.status === 'suspended') {
        return { ok: false, error: invalid('The account is not active.') };
      }
      const issued = await this.issueForNewSession(tx, {
        userId: row.userId,
        clientId: row.clientId,
        method: 'cli',
        ctx: input.ctx,
      });
      await tx
        .update(authorizationCodes)
        .set({ sessionId: issued.sessionId })
        .where(eq(authorizationCodes.id, row.id));
      return { ok: true, issued };
    });
  }

  /**
   * `grant_type=refresh_token` (RFC 6749 §6) with rotation: the presented token is retired and a new one
   * issued with a new access token, so a session (the token family) has at most one live refresh token.
   *
   * A retired token presented again is a replay (RFC 6819 §5.2.2.3; OAuth 2.0 Security BCP, RFC 9700
   * §4.14.2): its session is revoked and `session.refresh_reuse_detected` recorded. The one exception is a
   * retry of the very request that rotated it (same `Idempotency-Key`, within
   * {@link REFRESH_RETRY_GRACE_MS}) while the successor that request issued is still unused: it gets the
   * identical answer again (same refresh token, same access token), and nothing new is issued. Once the
   * successor has been used, or the grace has passed, the retry is a replay like any other.
   * @throws {OAuthError} `invalid_grant` for an unknown, expired, replayed or revoked token or a different
   *   client.
   */
  refresh(input: {
    refreshToken: string;
    clientId: string;
    idempotencyKey: string | undefined;
    ctx: AuditCtx;
  }): Promise<Issued> {
    assertKnownClient(input.clientId);
    const invalid = (why: string) => new OAuthError('invalid_grant', why);
    const ended = () => invalid('The session of this refresh token has ended.');
    const keyHash = input.idempotencyKey ? hashSecret(input.idempotencyKey) : null;
    return this.run(hashSecret(input.refreshToken), async (tx) => {
      const now = this.deps.clock.now();
      const [token] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(input.refreshToken)))
        .for('update');
      if (!token) return { ok: false, error: invalid('The refresh token is unknown.') };
      // The token names its owner: only now may the transaction see that user's session.
      await enterScope(tx, { userId: token.userId });
      // Locking the session serialises every grant of one token family (rotation, retry, replay).
      const [session] = await tx
        .select()
        .from(sessions)
        .where(and(eq(sessions.id, token.sessionId), eq(sessions.userId, token.userId)))
        .for('update');
      if (!session) return { ok: false, error: invalid('The refresh token is unknown.') };
      if (session.clientId !== input.clientId) {
        return { ok: false, error: invalid('The refresh token was issued to another client.') };
      }
      if (session.revokedAt) return { ok: false, error: ended() };
      /** Whether the session may still be used (idle and absolute timeouts, account status). */
      const live = async () => {
        // Read inside the transaction: the session row is locked, and PGlite has a single connection.
        const [owner] = await tx
          .select({ role: users.role, status: users.status })
          .from(users)
          .where(eq(users.id, session.userId));
        const verdict = this.deps.sessions.verdict({
          sessionId: session.id,
          userId: session.userId,
          kind: session.kind,
          role: owner?.role ?? 'user',
          userStatus: owner?.status ?? 'suspended',
          revoked: false,
          lastUsedAt: session.lastUsedAt.getTime(),
          absoluteExpiresAt: session.absoluteExpiresAt.getTime(),
        });
        return verdict === 'ok';
      };
      if (token.rotatedAt) {
        const rotatedAt = token.rotatedAt;
        const retry =
          input.idempotencyKey !== undefined &&
          keyHash !== null &&
          token.rotationKeyHash !== null &&
          constantTimeEqual(keyHash, token.rotationKeyHash) &&
          now.getTime() - rotatedAt.getTime() < REFRESH_RETRY_GRACE_MS;
        if (retry) {
          const answer = this.rotationSecrets(input.refreshToken, input.idempotencyKey!);
          const [successor] = await tx
            .select({ rotatedAt: refreshTokens.rotatedAt, expiresAt: refreshTokens.expiresAt })
            .from(refreshTokens)
            .where(
              and(
                eq(refreshTokens.tokenHash, hashSecret(answer.refreshToken)),
                eq(refreshTokens.sessionId, session.id),
              ),
            );
          if (successor && successor.rotatedAt === null && now < successor.expiresAt) {
            if (!(await live())) return { ok: false, error: ended() };
            const response = await this.response(session.userId, session.id, answer.refreshToken, {
              issuedAt: rotatedAt,
              jti: answer.jti,
            });
            return { ok: true, issued: { response, sessionId: session.id } };
          }
        }
        const payload = await this.revokeForReplay(
          tx,
          session.id,
          session.userId,
          'refresh_token_reuse',
          asUser(input.ctx, session.userId),
        );
        return {
          ok: false,
          error: invalid('The refresh token was already used; the session has been revoked. Sign in again.'),
          payload,
        };
      }
      if (now >= token.expiresAt) return { ok: false, error: invalid('The refresh token has expired.') };
      if (!(await live())) return { ok: false, error: ended() };
      await tx
        .update(refreshTokens)
        .set({ rotatedAt: now, rotationKeyHash: keyHash })
        .where(eq(refreshTokens.id, token.id));
      await tx.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, session.id));
      // With an Idempotency-Key the answer is derived, so that a retry can get the very same one back.
      const answer = input.idempotencyKey
        ? this.rotationSecrets(input.refreshToken, input.idempotencyKey)
        : undefined;
      const next = await this.newRefreshToken(tx, session, answer?.refreshToken);
      const response = await this.response(
        session.userId,
        session.id,
        next.token,
        answer && { issuedAt: now, jti: answer.jti },
      );
      return { ok: true, issued: { response, sessionId: session.id } };
    }).then((issued) => {
      this.deps.sessions.afterCommit(`s:${issued.sessionId}`);
      return issued;
    });
  }

  /**
   * Token revocation (RFC 7009 §2.1): a refresh token or a CLI access token ends its whole session and
   * records `session.revoked`. Unknown, invalid or foreign tokens are ignored (§2.2: the answer is the
   * same either way). Never throws an OAuth error.
   */
  async revoke(input: { token: string; clientId: string | undefined; ctx: AuditCtx }): Promise<void> {
    let target: { sessionId: string; userId: string } | undefined;
    let clientId: string | null = null;
    const hash = hashSecret(input.token);
    const row = await withScope(this.deps.db, { credential: hash }, async (tx) => {
      const [token] = await tx
        .select({ sessionId: refreshTokens.sessionId, userId: refreshTokens.userId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hash));
      if (!token) return undefined;
      await enterScope(tx, { userId: token.userId });
      const [session] = await tx
        .select({ clientId: sessions.clientId })
        .from(sessions)
        .where(eq(sessions.id, token.sessionId));
      return { ...token, clientId: session?.clientId ?? null };
    });
    if (row) {
      target = { sessionId: row.sessionId, userId: row.userId };
      clientId = row.clientId;
    } else {
      const verified = await this.deps.tokens.verifyAccessToken(input.token, 'cli');
      if (verified.ok) target = { sessionId: verified.claims.sid, userId: verified.claims.sub };
    }
    if (!target) return;
    if (input.clientId !== undefined && clientId !== null && clientId !== input.clientId) return;
    const { sessionId: id, userId } = target;
    const payload = await withUser(this.deps.db, userId, async (tx) => {
      const revoked = await this.deps.sessions.revoke(tx, id, 'token_revoked');
      if (!revoked) return undefined;
      await this.deps.audit.record(tx, asUser(input.ctx, revoked.session.userId), {
        action: 'session.revoked',
        resourceType: 'session',
        resourceId: id,
        outcome: 'success',
        subjectUserId: revoked.session.userId,
        metadata: { reason: 'token_revoked' },
      });
      return revoked.payload;
    });
    if (payload) this.deps.sessions.afterCommit(payload);
  }
}

/** Lifetime of a loopback authorization code, in ms (RFC 8252 flow; "at most 60 s"). */
export const AUTHORIZATION_CODE_TTL_MS = 60_000;
