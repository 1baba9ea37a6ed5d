import {
  CliAuthorizeParams,
  CliConsentRequest,
  CliConsentResponse,
  DeviceAuthorizationRequest,
  DeviceAuthorizationResponse,
  DeviceDecisionRequest,
  DeviceDecisionResponse,
  DeviceLookupRequest,
  DeviceLookupResponse,
  DeviceTokenRequest,
  OAuthErrorResponse,
  RevocationRequest,
  TokenRequest,
  TokenResponse,
} from '@fleece/sdk/contract';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { AUTH_LIMITS, rateLimitedProblem } from '../../plugins/rate-limit.js';
import { auditContext } from '../audit/context.js';
import { assertKnownClient } from './grants.service.js';
import { OAuthError } from './oauth-error.js';
import { parseLoopbackRedirect } from './redirects.js';
import type { IdentityServices } from './service.js';

const KNOWN_GRANTS = new Set(['refresh_token', 'authorization_code']);

/**
 * The token endpoints of the CLI flows, answering in the OAuth error format (RFC 6749 §5.2) instead of
 * problem details: `POST /api/auth/device/code`, `/device/token`, `/token`, `/revoke`. Bodies are JSON.
 */
export const oauthEndpoints: FastifyPluginAsyncZod<{ services: IdentityServices }> = async (
  app,
  { services },
) => {
  const { devices, grants } = services;

  app.setErrorHandler((error: FastifyError | OAuthError, request, reply) => {
    if (error instanceof OAuthError) {
      return reply.code(error.status).header('pragma', 'no-cache').send(error.toJSON());
    }
    if ((error as FastifyError).validation) {
      const body = request.body as { grant_type?: unknown } | undefined;
      const grant = body && typeof body === 'object' ? body.grant_type : undefined;
      if (
        request.url.startsWith('/api/auth/token') &&
        typeof grant === 'string' &&
        !KNOWN_GRANTS.has(grant)
      ) {
        return reply
          .code(400)
          .send(
            new OAuthError(
              'unsupported_grant_type',
              `grant_type "${grant.slice(0, 64)}" is not supported.`,
            ).toJSON(),
          );
      }
      const issue = (error as FastifyError).validation?.[0];
      const field = (issue?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || 'body';
      return reply
        .code(400)
        .send(new OAuthError('invalid_request', `${field}: ${issue?.message ?? 'is not valid'}`).toJSON());
    }
    throw error;
  });

  const oauthErrors = { 400: OAuthErrorResponse, 401: OAuthErrorResponse };

  app.post(
    '/api/auth/device/code',
    {
      config: { rateLimit: AUTH_LIMITS.startPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Device authorization request (RFC 8628 §3.1)',
        body: DeviceAuthorizationRequest,
        response: { 200: DeviceAuthorizationResponse, ...oauthErrors },
      },
    },
    async (request) =>
      devices.authorize({
        clientId: request.body.client_id,
        scope: request.body.scope,
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      }),
  );

  app.post(
    '/api/auth/device/token',
    {
      config: { rateLimit: AUTH_LIMITS.tokenPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Device access token request (RFC 8628 §3.4)',
        body: DeviceTokenRequest,
        response: { 200: TokenResponse, ...oauthErrors },
      },
    },
    async (request) =>
      devices.token({
        deviceCode: request.body.device_code,
        clientId: request.body.client_id,
        ctx: auditContext(request),
      }),
  );

  app.post(
    '/api/auth/token',
    {
      config: { rateLimit: AUTH_LIMITS.tokenPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Refresh token rotation (RFC 6749 §6) or authorization code exchange with PKCE (RFC 7636)',
        body: TokenRequest,
        response: { 200: TokenResponse, ...oauthErrors },
      },
    },
    async (request) => {
      const body = request.body;
      const ctx = auditContext(request);
      if (body.grant_type === 'refresh_token') {
        const key = request.headers['idempotency-key'];
        const issued = await grants.refresh({
          refreshToken: body.refresh_token,
          clientId: body.client_id,
          idempotencyKey: typeof key === 'string' && key.length <= 256 ? key : undefined,
          ctx,
        });
        return issued.response;
      }
      const issued = await grants.exchangeAuthorizationCode({
        code: body.code,
        codeVerifier: body.code_verifier,
        redirectUri: body.redirect_uri,
        clientId: body.client_id,
        ctx,
      });
      return issued.response;
    },
  );

  app.post(
    '/api/auth/revoke',
    {
      config: { rateLimit: AUTH_LIMITS.tokenPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Token revocation (RFC 7009): ends the session of a refresh or access token',
        body: RevocationRequest,
        response: { 200: z.object({}), ...oauthErrors },
      },
    },
    async (request) => {
      await grants.revoke({
        token: request.body.token,
        clientId: request.body.client_id,
        ctx: auditContext(request),
      });
      return {};
    },
  );
};

/** Why a CLI authorization request is refused; never redirected (the redirect URI itself may be bad). */
function validateCliRequest(params: CliAuthorizeParams): void {
  const bad = (path: string, message: string) =>
    new ProblemError('validation_failed', `The request is not valid: ${path}: ${message}.`, {
      errors: [{ path, message }],
    });
  try {
    assertKnownClient(params.client_id);
  } catch {
    throw bad('query.client_id', 'unknown client');
  }
  if (!parseLoopbackRedirect(params.redirect_uri)) {
    throw bad(
      'query.redirect_uri',
      'must be http://127.0.0.1:<port>/<path> or http://[::1]:<port>/<path> (loopback IP literal, explicit port)',
    );
  }
  if (params.code_challenge_method !== 'S256') {
    throw bad('query.code_challenge_method', 'only S256 is accepted (RFC 7636 §4.2)');
  }
}

/**
 * The browser side of the CLI flows, in problem-details format: entering and deciding a device's user
 * code (`/device` page), and the loopback sign-in's consent (`/cli/authorize` page).
 */
export const cliBrowserRoutes: FastifyPluginAsyncZod<{ services: IdentityServices }> = async (
  app,
  { services },
) => {
  const { devices, grants } = services;
  const failures = app.createRateLimit({
    ...AUTH_LIMITS.userCodeFailuresPerIp,
    keyGenerator: (request: FastifyRequest) => request.ip,
  });

  /** Refuses a locked-out address before it may try a code; a correct code does not lift the lock-out. */
  async function checkLockout(request: FastifyRequest) {
    const state = await failures(request, { increment: false });
    if (!state.isAllowed && (state.remaining ?? 0) <= 0) throw rateLimitedProblem((state.ttl ?? 0) / 1000);
  }
  async function countFailure(request: FastifyRequest) {
    await failures(request);
  }
  const notFound = () =>
    new ProblemError(
      'not_found',
      'No pending device request shows this code. Check it, or start again on the device.',
    );

  app.post(
    '/api/auth/device/lookup',
    {
      preParsing: app.requireAuth,
      config: { rateLimit: AUTH_LIMITS.userCodePerIp },
      schema: {
        tags: ['auth'],
        summary: 'Find the pending device request that shows a user code',
        body: DeviceLookupRequest,
        response: { 200: DeviceLookupResponse },
      },
    },
    async (request) => {
      await checkLockout(request);
      const found = await devices.lookup(request.body.userCode);
      if (!found) {
        await countFailure(request);
        throw notFound();
      }
      return found;
    },
  );

  app.post(
    '/api/auth/device/decision',
    {
      preParsing: app.requireAuth,
      config: { rateLimit: AUTH_LIMITS.userCodePerIp },
      schema: {
        tags: ['auth'],
        summary: 'Approve or deny the device request that shows a user code',
        body: DeviceDecisionRequest,
        response: { 200: DeviceDecisionResponse },
      },
    },
    async (request) => {
      await checkLockout(request);
      const status = await devices.decide({
        userCode: request.body.userCode,
        approve: request.body.decision === 'approve',
        userId: request.principal!.userId,
        ctx: auditContext(request),
      });
      if (!status) {
        await countFailure(request);
        throw notFound();
      }
      return { status };
    },
  );

  app.get(
    '/api/auth/cli/authorize',
    {
      config: { rateLimit: AUTH_LIMITS.startPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Start the CLI browser sign-in (RFC 8252)',
        querystring: CliAuthorizeParams,
      },
    },
    async (request, reply) => {
      validateCliRequest(request.query);
      const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1)).toString();
      const page = `/cli/authorize?${query}`;
      if (request.principal?.type !== 'session' || !request.authViaCookie) {
        return reply.redirect(`/login?returnTo=${encodeURIComponent(page)}`, 303);
      }
      return reply.redirect(page, 303);
    },
  );

  app.post(
    '/api/auth/cli/authorize',
    {
      preParsing: app.requireAuth,
      config: { rateLimit: AUTH_LIMITS.startPerIp },
      schema: {
        tags: ['auth'],
        summary: 'Answer the CLI browser sign-in: approve (issue a one-time code) or deny',
        body: CliConsentRequest,
        response: { 200: CliConsentResponse },
      },
    },
    async (request) => {
      const body = request.body;
      validateCliRequest(body);
      const target = new URL(body.redirect_uri);
      if (body.decision === 'deny') {
        target.searchParams.set('error', 'access_denied');
        await app.audit.recordDetached(auditContext(request), {
          action: 'auth.cli.authorized',
          resourceType: 'authorization_code',
          outcome: 'denied',
          subjectUserId: request.principal!.userId,
          metadata: { clientId: body.client_id, redirectPort: target.port },
        });
      } else {
        const code = await grants.createAuthorizationCode({
          userId: request.principal!.userId,
          clientId: body.client_id,
          redirectUri: body.redirect_uri,
          codeChallenge: body.code_challenge,
          ctx: auditContext(request),
        });
        target.searchParams.set('code', code);
      }
      target.searchParams.set('state', body.state);
      return { redirectTo: target.href };
    },
  );
};
