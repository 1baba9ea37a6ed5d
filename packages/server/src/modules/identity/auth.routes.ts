import {
  AuthProvidersResponse,
  BrowserSessionResponse,
  MagicLinkRequest,
  MagicLinkResponse,
  OAuthCallbackQuery,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import { rateLimitedProblem } from '../../http/problem.js';
import { AUTH_LIMITS } from '../../limits.js';
import { auditContext } from '../audit/context.js';
import { type PendingLogin, PROVIDER_NAMES, ProviderError, type ProviderId } from './oauth.service.js';
import { safeReturnTo } from './redirects.js';
import type { IdentityServices } from './service.js';
import { normaliseEmail, SignInRefused } from './users.service.js';

/** Cookie that carries the signed state of a sign-in in progress at a provider. */
export const OAUTH_STATE_COOKIE = '__Host-fleece_oauth';
/** How long a sign-in at a provider may take, in seconds. */
export const OAUTH_STATE_TTL_S = 600;

const ProviderParams = z.strictObject({ provider: z.enum(['google', 'github', 'entra']) });

/**
 * Browser sign-in: the providers list, magic links, OAuth/OIDC at Google, GitHub and Entra ID, and
 * sign-out. Every sign-in ends with a new server-side session and the `__Host-fleece_session` cookie.
 */
export const browserAuthRoutes: FastifyPluginAsyncZod<{ services: IdentityServices }> = async (
  app,
  { services },
) => {
  const { magicLinks, oauth, users, signIn, mailer } = services;
  const publicOrigin = new URL(app.config.publicUrl).origin;
  if (mailer.kind === 'outbox' && app.config.env === 'production') {
    app.log.warn(
      'RESEND_API_KEY is unset: magic sign-in links are written to this log; anyone who reads it can sign in',
    );
  }

  /** Validates a `returnTo`, recording `security.redirect_blocked` when it is refused. */
  async function returnTo(request: FastifyRequest, value: string | undefined): Promise<string> {
    const result = safeReturnTo(value, app.config.publicUrl);
    if (result.blocked) await signIn.recordBlockedRedirect(auditContext(request), 'returnTo', value ?? '');
    return result.path;
  }

  /** Browser-only POSTs (sign-in completion) must come from our pages: login CSRF defence. */
  function requireSameOrigin(request: FastifyRequest) {
    if (request.headers.origin !== publicOrigin) {
      throw new ProblemError('cross_origin_denied', 'This request must come from this site (Origin header).');
    }
  }

  const emailLimit = app.createRateLimit({
    ...AUTH_LIMITS.magicLinkPerEmail,
    keyGenerator: (request: FastifyRequest) => normaliseEmail((request.body as { email: string }).email),
  });

  app.get(
    '/api/auth/providers',
    {
      schema: {
        tags: ['auth'],
        summary: 'Configured sign-in providers',
        response: { 200: AuthProvidersResponse },
      },
    },
    async () => ({
      providers: oauth.enabled().map((id) => ({
        id,
        name: PROVIDER_NAMES[id],
        loginUrl: `/api/auth/oauth/${id}/start`,
      })),
      magicLink: true,
      magicLinkDelivery:
        mailer.kind === 'outbox' && app.config.env !== 'production'
          ? ('server-log' as const)
          : ('email' as const),
    }),
  );

  app.get(
    '/api/auth/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'Whether this browser is signed in, and as whom (always 200)',
        response: { 200: BrowserSessionResponse },
      },
    },
    async (request): Promise<BrowserSessionResponse> => {
      const principal = request.principal;
      if (!principal || !request.authViaCookie) return { signedIn: false };
      const me = await app.me.get(principal.userId);
      if (!me) return { signedIn: false };
      return { signedIn: true, user: { email: me.user.email, name: me.user.name } };
    },
  );

  app.get(
    '/api/auth/return-to',
    {
      // A NUL character is one more way a value is refused: answered `blocked`, like every other.
      config: { nulAllowed: true },
      schema: {
        tags: ['auth'],
        summary: 'Check a post-login destination: the same-origin path to use (always 200)',
        description:
          'The web pages ask this instead of linking to their raw `returnTo`: `path` is the validated, ' +
          'normalised same-origin path (`/` when missing or refused), `blocked` whether it was refused ' +
          '(recorded as `security.redirect_blocked`).',
        querystring: z.object({ returnTo: z.string().max(4096).optional() }),
        response: { 200: z.object({ path: z.string(), blocked: z.boolean() }) },
      },
    },
    async (request) => {
      const value = request.query.returnTo;
      const result = safeReturnTo(value, app.config.publicUrl);
      if (result.blocked) await signIn.recordBlockedRedirect(auditContext(request), 'returnTo', value ?? '');
      return result;
    },
  );

  app.post(
    '/api/auth/magic-link',
    {
      config: { limit: 'magicLinkPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Email a magic sign-in link (always 202)',
        body: MagicLinkRequest,
        response: { 202: MagicLinkResponse },
      },
    },
    async (request, reply) => {
      if (request.headers.origin !== undefined) requireSameOrigin(request);
      const limit = await emailLimit(request);
      if (!limit.isAllowed && limit.isExceeded) throw rateLimitedProblem((limit.ttl ?? 0) / 1000);
      const path = await returnTo(request, request.body.returnTo);
      await magicLinks.request(request.body.email, path, auditContext(request));
      return reply.code(202).send({ status: 'accepted' as const });
    },
  );

  app.post(
    '/api/auth/magic-link/verify',
    {
      config: { limit: 'tokenPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Use a magic-link token: sign in and set the session cookie',
        body: z.strictObject({ token: z.string().min(1).max(256) }),
        response: { 200: z.object({ redirectTo: z.string() }), 401: Problem },
      },
    },
    async (request, reply) => {
      requireSameOrigin(request);
      const result = await magicLinks.consume(request.body.token, auditContext(request));
      if (!result) {
        throw new ProblemError(
          'unauthenticated',
          'This sign-in link is invalid, expired or already used. Ask for a new one.',
        );
      }
      await app.setSessionCookie(reply, result.user.id, result.session.id, result.session.absoluteExpiresAt);
      // Checked again on the way out: a link stored before a rule was tightened must not redirect off-site.
      return { redirectTo: await returnTo(request, result.returnTo) };
    },
  );

  const cookieOptions = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' as const };

  app.get(
    '/api/auth/oauth/:provider/start',
    {
      config: { limit: 'startPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Start signing in at a provider (redirects)',
        params: ProviderParams,
        querystring: z.object({ returnTo: z.string().max(4096).optional() }),
      },
    },
    async (request, reply) => {
      const provider = request.params.provider as ProviderId;
      if (!oauth.enabled().includes(provider)) {
        throw new ProblemError(
          'not_found',
          `Sign-in with ${PROVIDER_NAMES[provider]} is not configured on this server.`,
        );
      }
      const path = await returnTo(request, request.query.returnTo);
      let started: Awaited<ReturnType<typeof oauth.start>>;
      try {
        started = await oauth.start(provider, path);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        request.log.warn({ err: error }, 'sign-in provider unavailable');
        return failLogin(request, reply, provider, error.reason);
      }
      const { url, pending } = started;
      const state = await app.tokens.signState({ ...pending }, OAUTH_STATE_TTL_S);
      reply.setCookie(OAUTH_STATE_COOKIE, state, { ...cookieOptions, maxAge: OAUTH_STATE_TTL_S });
      return reply.redirect(url, 303);
    },
  );

  async function failLogin(
    request: FastifyRequest,
    reply: FastifyReply,
    provider: string,
    reason: string,
  ): Promise<FastifyReply> {
    await signIn.recordFailure(auditContext(request), provider, reason);
    return reply.redirect(`/login?error=${encodeURIComponent(reason)}`, 303);
  }

  app.get(
    '/api/auth/oauth/:provider/callback',
    {
      config: { limit: 'startPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Provider redirect back after signing in',
        params: ProviderParams,
        querystring: OAuthCallbackQuery,
      },
    },
    async (request, reply) => {
      const provider = request.params.provider as ProviderId;
      const raw = request.cookies[OAUTH_STATE_COOKIE];
      reply.clearCookie(OAUTH_STATE_COOKIE, cookieOptions);
      const claims = raw ? await app.tokens.verifyState(raw) : undefined;
      if (!claims || claims.provider !== provider || !oauth.enabled().includes(provider)) {
        return failLogin(request, reply, provider, 'state_missing');
      }
      const pending = claims as unknown as PendingLogin;
      const query = new URLSearchParams(request.query as Record<string, string>);
      let profile: Awaited<ReturnType<typeof oauth.complete>>;
      try {
        profile = await oauth.complete(pending, query);
      } catch (error) {
        if (error instanceof ProviderError) return failLogin(request, reply, provider, error.reason);
        throw error;
      }
      const ctx = auditContext(request);
      try {
        const { user, session } = await app.db.transaction(async (tx) => {
          const { user } = await users.signInWithProvider(tx as never, profile);
          const session = await signIn.startBrowserSession(tx as never, user, provider, ctx);
          return { user, session };
        });
        await app.setSessionCookie(reply, user.id, session.id, session.absoluteExpiresAt);
      } catch (error) {
        if (error instanceof SignInRefused) return failLogin(request, reply, provider, error.reason);
        throw error;
      }
      const target = await returnTo(request, pending.returnTo);
      return reply.redirect(target, 303);
    },
  );

  app.post(
    '/api/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign out: end this session and clear its cookie',
        response: { 204: z.null().describe('Signed out') },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      app.clearSessionCookie(reply);
      if (principal?.sessionId) {
        const sessionId = principal.sessionId;
        const payload = await withUser(app.db, principal.userId, async (tx) => {
          const revoked = await app.sessions.revoke(tx, sessionId, 'logout', principal.userId);
          if (revoked) {
            await app.audit.record(tx, auditContext(request), {
              action: 'auth.logout',
              resourceType: 'session',
              resourceId: sessionId,
              outcome: 'success',
              subjectUserId: principal.userId,
            });
          }
          return revoked?.payload;
        });
        if (payload) app.sessions.afterCommit(payload);
      }
      return reply.code(204).send(null);
    },
  );
};
