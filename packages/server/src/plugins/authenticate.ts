import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';
import { auditContext } from '../modules/audit/context.js';
import type { SessionState } from '../modules/identity/sessions.service.js';
import { LiveStreams } from '../streams/credentials.js';
import type { AuthFailure, CredentialCheck } from './auth.js';

/** Name of the browser session cookie. `__Host-`: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2). */
export const SESSION_COOKIE = '__Host-fleece_session';

/** Methods that change state: a cookie-authenticated request with one of them must carry our `Origin`. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyInstance {
    /** Sets the session cookie carrying a fresh browser access token for session `sid` of user `sub`. */
    setSessionCookie(reply: FastifyReply, sub: string, sid: string, absoluteExpiresAt: Date): Promise<void>;
    /** Clears the session cookie. */
    clearSessionCookie(reply: FastifyReply): void;
    /**
     * The open Server-Sent Event streams of this instance, each ending when the credential that opened it
     * stops being valid: call `app.liveStreams.track(request, reply)` once a stream's headers are sent.
     */
    liveStreams: LiveStreams;
  }
  interface FastifyRequest {
    /** Why a presented credential was refused, when it was. */
    authFailure: AuthFailure | null;
    /** `true` when the principal came from the session cookie (so the Origin check applies). */
    authViaCookie: boolean;
    /**
     * Checks the request's credential again (the same API key, access token or session cookie), for the
     * streams that must end when it stops being valid; `null` without a principal.
     */
    recheckCredential: (() => Promise<CredentialCheck>) | null;
    /** The {@link LiveStreams} invalidation epoch when authentication began. */
    authEpoch: number;
  }
}

/**
 * Authentication: fills `request.principal` (one principal type per request) from, in this order,
 *
 * 1. `Authorization: Bearer …`: an API key (`flc_…`: checksum first, then the cached key state, see
 *    {@link ApiKeyService.verify}; its last use is noted in memory), or a CLI access token (`aud`
 *    `fleece:cli`);
 * 2. the `__Host-fleece_session` cookie: a browser access token (`aud` `fleece:browser-session`). When that
 *    JWT has expired but its session is still within the idle and absolute timeouts, a fresh one is
 *    issued in the response (sliding session) and the session's activity is recorded.
 *
 * Either way the token must name a session that is not revoked and whose user is active; that check is
 * served from {@link SessionService}'s cache, which every instance invalidates through LISTEN/NOTIFY.
 * A request without a valid credential has `principal: null` and `authFailure` says why; routes that
 * need a principal reject it with 401 (see `requireAuth`).
 *
 * Cookie-authenticated requests with an unsafe method (POST, PUT, PATCH, DELETE) must carry an `Origin`
 * equal to `FLEECE_PUBLIC_URL`'s origin, or fail with 403 `cross_origin_denied` (CSRF defence in depth
 * on top of SameSite=Lax).
 */
export const authenticatePlugin = fp(
  async (app) => {
    await app.register(cookie, { hook: 'onRequest' });
    const secure = true;
    const publicOrigin = new URL(app.config.publicUrl).origin;
    // The credentials' services come from their modules (src/modules/identity/, src/modules/api-keys/).
    const { tokens, sessions, apiKeys } = app;
    const liveStreams = new LiveStreams(app.invalidations, app.log);
    app.decorate('liveStreams', liveStreams);
    app.addHook('onClose', async () => {
      liveStreams.close();
    });

    const setSessionCookie = async (
      reply: FastifyReply,
      sub: string,
      sid: string,
      absoluteExpiresAt: Date,
    ) => {
      const { token } = await tokens.issueAccessToken('browser', sub, sid);
      const maxAge = Math.max(
        0,
        Math.floor((absoluteExpiresAt.getTime() - app.clock.now().getTime()) / 1000),
      );
      reply.setCookie(SESSION_COOKIE, token, { path: '/', secure, httpOnly: true, sameSite: 'lax', maxAge });
    };
    const clearSessionCookie = (reply: FastifyReply) => {
      reply.clearCookie(SESSION_COOKIE, { path: '/', secure, httpOnly: true, sameSite: 'lax' });
    };
    app.decorate('setSessionCookie', setSessionCookie);
    app.decorate('clearSessionCookie', clearSessionCookie);
    app.decorateRequest('authFailure', null);
    app.decorateRequest('authViaCookie', false);
    app.decorateRequest('recheckCredential', null);
    app.decorateRequest('authEpoch', 0);

    /**
     * The principal of session `sid` of user `sub` (a `kind` session), or why there is none. Shared by
     * first authentication and the re-checks of open streams.
     */
    async function sessionPrincipal(
      sid: string,
      sub: string,
      kind: 'cli' | 'browser',
    ): Promise<CredentialCheck & { state?: SessionState }> {
      const state = await sessions.state(sid, sub);
      if (!state || state.userId !== sub || state.kind !== kind) return { ok: false, failure: 'invalid' };
      const verdict = sessions.verdict(state);
      if (verdict !== 'ok') {
        return { ok: false, failure: verdict === 'user_inactive' ? 'inactive' : 'revoked' };
      }
      return {
        ok: true,
        state,
        principal: {
          type: 'session',
          userId: state.userId,
          role: state.role,
          sessionId: state.sessionId,
          ...(state.userStatus === 'pending_deletion' ? { pendingDeletion: true } : {}),
        },
      };
    }

    /** Checks a CLI access token (a JWT, `aud` `fleece:cli`) and its session; its expiry ends it. */
    async function checkCliToken(token: string): Promise<CredentialCheck> {
      const result = await tokens.verifyAccessToken(token, 'cli');
      if (!result.ok) return { ok: false, failure: result.reason };
      const { state: _state, ...check } = await sessionPrincipal(result.claims.sid, result.claims.sub, 'cli');
      return check;
    }

    /**
     * Checks a browser access token (the session cookie) and its session. An expired JWT of a live session
     * still passes (the sliding session issues the next one): `expired` says so, `state` is the session's.
     */
    async function checkCookie(
      value: string,
    ): Promise<CredentialCheck & { state?: SessionState; expired?: boolean }> {
      const result = await tokens.verifyAccessToken(value, 'browser');
      if (!result.ok && result.reason === 'invalid') return { ok: false, failure: 'invalid' };
      const claims = result.claims!;
      return { ...(await sessionPrincipal(claims.sid, claims.sub, 'browser')), expired: !result.ok };
    }

    /** Checks an API key without side effects; `expiredState` names the key when it has expired. */
    async function checkApiKey(
      key: string,
    ): Promise<CredentialCheck & { expiredState?: { keyId: string; userId: string } }> {
      const verdict = await apiKeys.verify(key);
      if (verdict.ok) {
        const { state } = verdict;
        return {
          ok: true,
          principal: {
            type: 'api_key',
            userId: state.userId,
            role: state.role,
            apiKeyId: state.keyId,
            scopes: state.scopes,
            apiLimits: state.apiLimits,
          },
        };
      }
      if (verdict.reason === 'expired') {
        return { ok: false, failure: 'api_key_expired', expiredState: verdict.state };
      }
      const failure =
        verdict.reason === 'inactive'
          ? 'inactive'
          : verdict.reason === 'disabled'
            ? 'api_key_disabled'
            : 'invalid_api_key';
      return { ok: false, failure };
    }

    async function fromBearer(request: FastifyRequest, header: string): Promise<void> {
      const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/.exec(header);
      if (!match) {
        request.authFailure = 'malformed';
        return;
      }
      const token = match[1]!;
      if (token.startsWith('flc_')) {
        await fromApiKey(request, token);
        return;
      }
      const check = await checkCliToken(token);
      if (!check.ok) {
        request.authFailure = check.failure;
        return;
      }
      request.principal = check.principal;
      request.recheckCredential = () => checkCliToken(token);
    }

    async function fromApiKey(request: FastifyRequest, key: string): Promise<void> {
      const check = await checkApiKey(key);
      if (check.ok) {
        request.principal = check.principal;
        request.recheckCredential = async () => {
          const { expiredState: _expired, ...again } = await checkApiKey(key);
          return again;
        };
        apiKeys.lastUsed.touch(check.principal.apiKeyId!, check.principal.userId, request.ip);
        return;
      }
      request.authFailure = check.failure;
      if (check.expiredState) {
        const { keyId, userId } = check.expiredState;
        await app.audit.recordDetached(
          { ...auditContext(request), actor: { type: 'api_key', userId, apiKeyId: keyId } },
          {
            action: 'api_key.expired_rejected',
            resourceType: 'api_key',
            resourceId: keyId,
            outcome: 'denied',
            subjectUserId: userId,
          },
          { throttleKey: `api_key.expired_rejected:${keyId}`, windowMs: 60_000 },
        );
      }
    }

    async function fromCookie(request: FastifyRequest, reply: FastifyReply, value: string): Promise<void> {
      const check = await checkCookie(value);
      if (!check.ok) {
        request.authFailure = check.failure;
        clearSessionCookie(reply);
        return;
      }
      const state = check.state!;
      if (check.expired) {
        // Sliding session: the short-lived JWT expired but the session is live; issue the next one.
        await sessions.touch(state.sessionId, state.userId);
        await setSessionCookie(reply, state.userId, state.sessionId, new Date(state.absoluteExpiresAt));
      }
      request.principal = check.principal;
      request.recheckCredential = async () => {
        const { state: _state, expired: _expired, ...again } = await checkCookie(value);
        return again;
      };
      request.authViaCookie = true;
    }

    app.addHook('onRequest', async (request, reply) => {
      request.authEpoch = liveStreams.currentEpoch;
      const header = request.headers.authorization;
      if (header !== undefined) {
        await fromBearer(request, header);
        return;
      }
      const value = request.cookies[SESSION_COOKIE];
      if (value === undefined || value === '') return;
      await fromCookie(request, reply, value);
      if (
        request.authViaCookie &&
        UNSAFE_METHODS.has(request.method) &&
        request.headers.origin !== publicOrigin
      ) {
        throw new ProblemError(
          'cross_origin_denied',
          'A request that changes state with the session cookie must come from this site (its Origin header must match).',
        );
      }
    });
  },
  {
    name: 'fleece-authenticate',
    dependencies: [
      'fleece-config',
      'fleece-database',
      'fleece-invalidations',
      'fleece-auth',
      'fleece-audit',
      'fleece-identity',
      'fleece-api-keys',
    ],
  },
);
