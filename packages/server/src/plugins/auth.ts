import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';

/**
 * Who is making a request. Authentication (sessions, access tokens, API keys) attaches one to the request;
 * a request without a valid credential has none.
 *
 * - `type`: how the caller authenticated: a browser or CLI `session`, or an `api_key`;
 * - `userId`: the owning user's id (`usr_…`); every tenant query is scoped by it;
 * - `role`: `admin` unlocks `/api/v1/admin/*`;
 * - `sessionId` / `apiKeyId`: the credential's id (`ses_…` / `key_…`), for audit and revocation;
 * - `scopes`: what an API key may do; sessions may do everything their user may.
 */
export interface Principal {
  type: 'session' | 'api_key';
  userId: string;
  role: 'user' | 'admin';
  sessionId?: string;
  apiKeyId?: string;
  scopes?: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, or `null` when the request carries no valid credential. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /**
     * preHandler that requires a principal.
     * @throws {ProblemError} `unauthenticated` (401) when the request has none.
     */
    requireAuth: (request: FastifyRequest) => Promise<void>;
    /**
     * preHandler that requires an admin principal.
     * @throws {ProblemError} `unauthenticated` (401) without one, `forbidden` (403) for a non-admin.
     */
    requireAdmin: (request: FastifyRequest) => Promise<void>;
  }
}

/** The 401 detail for each reason a presented credential was refused (see the authenticate plugin). */
const FAILURE_DETAIL: Record<string, string> = {
  malformed: 'The Authorization header is malformed: send `Authorization: Bearer <token>`.',
  invalid: 'The access token or session is not valid. Sign in again.',
  expired: 'The access token has expired. Refresh it with your refresh token, or sign in again.',
  revoked: 'The session has ended (signed out, revoked or timed out). Sign in again.',
  inactive: 'This account is not active.',
  api_key: 'API keys are not accepted by this server yet. Use `fleece login` or sign in.',
};

function authenticated(
  request: FastifyRequest,
): asserts request is FastifyRequest & { principal: Principal } {
  if (!request.principal) {
    const failure = (request as { authFailure?: string | null }).authFailure;
    const bearer = /^Bearer /i.test(request.headers.authorization ?? '');
    throw new ProblemError(
      'unauthenticated',
      (failure && FAILURE_DETAIL[failure]) ??
        'This endpoint needs credentials: send `Authorization: Bearer <API key or access token>`, or sign in.',
      {},
      // RFC 6750 §3: a bearer token that was refused is reported as `invalid_token`.
      { 'www-authenticate': bearer && failure ? 'Bearer error="invalid_token"' : 'Bearer' },
    );
  }
}

/** Declares the request principal and the `requireAuth` / `requireAdmin` guards that routes use. */
export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('principal', null);
    app.decorate('requireAuth', async (request: FastifyRequest) => {
      authenticated(request);
    });
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      authenticated(request);
      if (request.principal.role !== 'admin') {
        throw new ProblemError('forbidden', 'This endpoint is for administrators only.');
      }
    });
  },
  { name: 'fleece-auth' },
);
