import formbody from '@fastify/formbody';
import {
  AuthorizationServerMetadata,
  CliAuthorizeParams,
  CliConsentRequest,
  CliConsentResponse,
  DEVICE_CODE_GRANT_TYPE,
  DeviceAuthorizationRequest,
  DeviceAuthorizationResponse,
  DeviceDecisionRequest,
  DeviceDecisionResponse,
  DeviceLookupRequest,
  DeviceLookupResponse,
  OAuthErrorResponse,
  RevocationRequest,
  TokenRequest,
  TokenResponse,
} from '@fleece/sdk/contract';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { sendProblem } from '../../http/problem.js';
import { clientSubject } from '../../lib/client-address.js';
import { AUTH_LIMITS } from '../../limits.js';
import { auditContext } from '../audit/context.js';
import { assertKnownClient } from './grants.service.js';
import { OAuthError } from './oauth-error.js';
import { parseLoopbackRedirect, safeReturnTo } from './redirects.js';
import type { IdentityServices } from './service.js';

/** The grants of the token endpoint (RFC 6749 §4.1.3, §6; RFC 8628 §3.4). */
const KNOWN_GRANTS = new Set(['refresh_token', 'authorization_code', DEVICE_CODE_GRANT_TYPE]);

/** The paths of the token endpoint: the one endpoint, and the device flow's older name for it. */
const TOKEN_PATHS = new Set(['/api/auth/token', '/api/auth/device/token']);

/**
 * Largest request body the OAuth endpoints read, in bytes: their parameters are short (a revocation's
 * token is at most 4096 characters), so 16 KiB is generous.
 */
export const OAUTH_BODY_LIMIT = 16 * 1024;

/** The request media types of the OAuth endpoints, form encoding first (the standards' own). */
const OAUTH_MEDIA_TYPES = ['application/x-www-form-urlencoded', 'application/json'];

/**
 * What an error on an OAuth endpoint becomes: an {@link OAuthError} (RFC 6749 §5.2 shape) for every
 * failure, whether a service threw it, the body failed validation (`invalid_request`, or
 * `unsupported_grant_type` for an unknown `grant_type` at the token endpoint), the framework refused the
 * body (malformed: 400; oversized: 413; another media type: 415; all `invalid_request`), a rate limit
 * refused the request (429 `temporarily_unavailable` with `Retry-After`), or something failed on the
 * server (500 `server_error`, logged). Never a problem document, never a stack trace.
 */
export function oauthErrorOf(error: unknown, request: FastifyRequest): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof ProblemError) {
    if (error.status === 429) {
      return new OAuthError('temporarily_unavailable', error.detail, {
        status: 429,
        headers: { ...error.headers },
      });
    }
    if (error.status < 500) {
      return new OAuthError('invalid_request', error.detail, {
        status: error.status,
        headers: { ...error.headers },
      });
    }
  }
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const body = request.body as { grant_type?: unknown } | undefined;
    const grant = body && typeof body === 'object' ? body.grant_type : undefined;
    if (
      TOKEN_PATHS.has(request.routeOptions.url ?? '') &&
      typeof grant === 'string' &&
      !KNOWN_GRANTS.has(grant)
    ) {
      return new OAuthError('unsupported_grant_type', `grant_type "${grant.slice(0, 64)}" is not supported.`);
    }
    const issue = fastifyError.validation[0];
    const field = (issue?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || 'body';
    return new OAuthError('invalid_request', `${field}: ${issue?.message ?? 'is not valid'}`);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new OAuthError(
        'invalid_request',
        'This endpoint takes `Content-Type: application/x-www-form-urlencoded` (or `application/json`).',
        { status: 415 },
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OAuthError(
        'invalid_request',
        `The request body is larger than this endpoint accepts (${OAUTH_BODY_LIMIT} bytes).`,
        { status: 413 },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new OAuthError('invalid_request', 'The request body is not valid JSON.');
  }
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.info({ err: error }, 'client error');
    return new OAuthError('invalid_request', 'The request is not valid.', { status });
  }
  request.log.error({ err: error }, 'unhandled error');
  return new OAuthError(
    'server_error',
    `Something went wrong on our side. Quote request id ${request.id} if you contact support.`,
    { status: 500 },
  );
}

/** An HTTP authentication scheme name: a token (RFC 9110 §5.6.2, §11.1), at most 32 characters. */
const AUTH_SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * The `WWW-Authenticate` challenge of a 401 `invalid_client` (RFC 6749 §5.2): when the client sent an
 * `Authorization` header, the challenge names the scheme it used (`Basic realm="fleece"` for Basic); a
 * scheme that is no valid token is answered as Basic, the scheme RFC 6749 §2.3.1 names. Without the header,
 * `undefined` (no challenge is required).
 */
export function authChallenge(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const scheme = header.trim().split(/\s/, 1)[0] ?? '';
  return `${AUTH_SCHEME.test(scheme) ? scheme : 'Basic'} realm="fleece"`;
}

/** Drops parameters sent without a value: they count as omitted (RFC 6749 §3.2, RFC 8628 §3.1). */
function omitEmptyParameters(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== ''));
}

/**
 * The OAuth 2.0 endpoints of the CLI flows: `POST /api/auth/device/code` (RFC 8628 §3.1), the token
 * endpoint `POST /api/auth/token` for every grant (RFC 6749 §4.1.3 and §6, RFC 8628 §3.4) with its alias
 * `POST /api/auth/device/token`, and `POST /api/auth/revoke` (RFC 7009).
 *
 * Bodies are `application/x-www-form-urlencoded` as the standards require, or JSON. The form parser
 * (`@fastify/formbody`) is registered in this plugin's encapsulated context only: every other route of the
 * API still refuses form bodies with 415, which is part of its CSRF defence (a cross-site HTML form can
 * send form bodies without a preflight). Every answer carries `Cache-Control: no-store` and
 * `Pragma: no-cache` (RFC 6749 §5.1), and every error is in the OAuth shape of RFC 6749 §5.2
 * ({@link oauthErrorOf}), never problem+json.
 */
export const oauthEndpoints: FastifyPluginAsyncZod<{ services: IdentityServices }> = async (
  app,
  { services },
) => {
  const { devices, grants } = services;

  await app.register(formbody, { bodyLimit: OAUTH_BODY_LIMIT });
  app.addHook('preValidation', async (request) => {
    request.body = omitEmptyParameters(request.body);
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });

  app.setErrorHandler((error, request, reply) => {
    // A path that is not the endpoint's one spelling (src/plugins/routing.ts) is no OAuth request: its 404
    // is the API's, as for every other route.
    if (error instanceof ProblemError && error.code === 'not_found')
      return sendProblem(request, reply, error);
    const oauth = oauthErrorOf(error, request);
    const challenge = oauth.error === 'invalid_client' ? authChallenge(request) : undefined;
    if (challenge) reply.header('www-authenticate', challenge);
    return reply
      .code(oauth.status)
      .headers(oauth.headers)
      .type('application/json; charset=utf-8')
      .send(oauth.toJSON());
  });

  const oauthErrors = {
    400: OAuthErrorResponse,
    401: OAuthErrorResponse,
    413: OAuthErrorResponse,
    415: OAuthErrorResponse,
    429: OAuthErrorResponse,
  };

  app.post(
    '/api/auth/device/code',
    {
      bodyLimit: OAUTH_BODY_LIMIT,
      config: { limit: 'startPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Device authorization request (RFC 8628 §3.1)',
        consumes: OAUTH_MEDIA_TYPES,
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

  /** The token endpoint: one handler for every grant, told apart by `grant_type`. */
  const token = async (request: FastifyRequest<{ Body: TokenRequest }>) => {
    const body = request.body;
    const ctx = auditContext(request);
    switch (body.grant_type) {
      case 'refresh_token': {
        const key = request.headers['idempotency-key'];
        const issued = await grants.refresh({
          refreshToken: body.refresh_token,
          clientId: body.client_id,
          idempotencyKey: typeof key === 'string' && key.length <= 256 ? key : undefined,
          ctx,
        });
        return issued.response;
      }
      case 'authorization_code': {
        const issued = await grants.exchangeAuthorizationCode({
          code: body.code,
          codeVerifier: body.code_verifier,
          redirectUri: body.redirect_uri,
          clientId: body.client_id,
          ctx,
        });
        return issued.response;
      }
      case DEVICE_CODE_GRANT_TYPE:
        return devices.token({ deviceCode: body.device_code, clientId: body.client_id, ctx });
    }
  };

  app.post(
    '/api/auth/token',
    {
      bodyLimit: OAUTH_BODY_LIMIT,
      config: { limit: 'tokenPerIp' },
      schema: {
        tags: ['auth'],
        summary:
          'Token endpoint for every grant: authorization code with PKCE (RFC 6749 §4.1.3, RFC 7636), refresh token rotation (RFC 6749 §6), device code (RFC 8628 §3.4)',
        consumes: OAUTH_MEDIA_TYPES,
        body: TokenRequest,
        response: { 200: TokenResponse, ...oauthErrors },
      },
    },
    token,
  );

  app.post(
    '/api/auth/device/token',
    {
      bodyLimit: OAUTH_BODY_LIMIT,
      config: { limit: 'tokenPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'The token endpoint under its older name: the same handler as POST /api/auth/token',
        consumes: OAUTH_MEDIA_TYPES,
        body: TokenRequest,
        response: { 200: TokenResponse, ...oauthErrors },
      },
    },
    token,
  );

  app.post(
    '/api/auth/revoke',
    {
      bodyLimit: OAUTH_BODY_LIMIT,
      config: { limit: 'tokenPerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Token revocation (RFC 7009): ends the session of a refresh or access token',
        consumes: OAUTH_MEDIA_TYPES,
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

/** Where the authorization server metadata is (RFC 8414 §3). */
export const METADATA_PATH = '/.well-known/oauth-authorization-server';

/**
 * The authorization server metadata of this server (RFC 8414 §2) for `publicUrl` (`FLEECE_PUBLIC_URL`,
 * without a trailing slash), which is also the `issuer`.
 */
export function authorizationServerMetadata(publicUrl: string): AuthorizationServerMetadata {
  return {
    issuer: publicUrl,
    authorization_endpoint: `${publicUrl}/api/auth/cli/authorize`,
    token_endpoint: `${publicUrl}/api/auth/token`,
    device_authorization_endpoint: `${publicUrl}/api/auth/device/code`,
    revocation_endpoint: `${publicUrl}/api/auth/revoke`,
    grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT_TYPE],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
  };
}

/** `GET /.well-known/oauth-authorization-server`: the metadata of {@link authorizationServerMetadata}. */
export const oauthMetadataRoute: FastifyPluginAsyncZod = async (app) => {
  const metadata = authorizationServerMetadata(app.config.publicUrl);
  app.get(
    METADATA_PATH,
    {
      schema: {
        tags: ['auth'],
        summary: 'OAuth 2.0 authorization server metadata (RFC 8414)',
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async () => metadata,
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
  /**
   * Wrong user codes per address (AUTH_LIMITS.userCodeFailuresPerIp). Every attempt takes a slot before its
   * code is looked up, atomically across requests and instances, so concurrent guesses cannot all pass one
   * check; a correct code gives its slot back. Once the address is over the maximum, every attempt is
   * refused until the window ends: a correct code does not lift the lock-out.
   */
  const userCodeAttempts = app.attemptLimit({
    ...AUTH_LIMITS.userCodeFailuresPerIp,
    keyGenerator: (request) => `user-code:${clientSubject(request)}`,
  });
  const notFound = () =>
    new ProblemError(
      'not_found',
      'No pending device request shows this code. Check it, or start again on the device.',
    );

  app.post(
    '/api/auth/device/lookup',
    {
      preParsing: app.requireAuth,
      config: { limit: 'userCodePerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Find the pending device request that shows a user code',
        body: DeviceLookupRequest,
        response: { 200: DeviceLookupResponse },
      },
    },
    async (request) => {
      const attempt = await userCodeAttempts.reserve(request);
      const found = await devices.lookup(request.body.userCode);
      if (!found) throw notFound();
      await attempt.release();
      return found;
    },
  );

  app.post(
    '/api/auth/device/decision',
    {
      preParsing: app.requireAuth,
      config: { limit: 'userCodePerIp' },
      schema: {
        tags: ['auth'],
        summary: 'Approve or deny the device request that shows a user code',
        body: DeviceDecisionRequest,
        response: { 200: DeviceDecisionResponse },
      },
    },
    async (request) => {
      const attempt = await userCodeAttempts.reserve(request);
      const status = await devices.decide({
        userCode: request.body.userCode,
        approve: request.body.decision === 'approve',
        userId: request.principal!.userId,
        ctx: auditContext(request),
      });
      if (!status) throw notFound();
      await attempt.release();
      return { status };
    },
  );

  app.get(
    '/api/auth/cli/authorize',
    {
      // Stores nothing: it only checks the request and sends the browser on (to /login, or the consent page),
      // so a NUL character travels with the rest and is refused where it would be stored.
      config: { limit: 'startPerIp', nulAllowed: true },
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
        // The one redirect rule (claim C7) decides the way back, as for every other returnTo.
        const back = safeReturnTo(page, app.config.publicUrl);
        if (back.blocked) {
          throw new ProblemError(
            'validation_failed',
            'The request is too long to come back to after signing in. Start again from the CLI.',
            { errors: [{ path: 'query', message: 'too long' }] },
          );
        }
        return reply.redirect(`/login?returnTo=${encodeURIComponent(back.path)}`, 303);
      }
      return reply.redirect(page, 303);
    },
  );

  app.post(
    '/api/auth/cli/authorize',
    {
      preParsing: app.requireAuth,
      config: { limit: 'startPerIp' },
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
