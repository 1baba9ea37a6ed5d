import type { ApiKeyScope } from '@fleece/sdk/contract';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type ProblemCode, ProblemError } from '../errors.js';

/**
 * Who is making a request. Authentication (sessions, access tokens, API keys) attaches one to the request;
 * a request without a valid credential has none.
 *
 * - `type`: how the caller authenticated: a browser or CLI `session`, or an `api_key`;
 * - `userId`: the owning user's id (`usr_…`); every tenant query is scoped by it;
 * - `role`: `admin` unlocks `/api/v1/admin/*`;
 * - `sessionId` / `apiKeyId`: the credential's id (`ses_…` / `key_…`), for audit and revocation;
 * - `scopes`: what an API key may do; sessions may do everything their user may;
 * - `apiLimits`: the plan's request limits across all of the user's keys (per minute, per day), for API
 *   keys; `null` on a plan without API access.
 */
export interface Principal {
  type: 'session' | 'api_key';
  userId: string;
  role: 'user' | 'admin';
  sessionId?: string;
  apiKeyId?: string;
  scopes?: readonly ApiKeyScope[];
  apiLimits?: { perMinute: number | null; perDay: number | null };
  /**
   * `true` while the user's account is scheduled for deletion: only routes marked
   * `config.allowPendingDeletion` serve it (src/modules/deletion/).
   */
  pendingDeletion?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The API key scope a route needs; by default `read` for GET and HEAD, `write` for every other method.
     * A key without it gets 403 `insufficient_scope`.
     */
    scope?: ApiKeyScope;
    /**
     * `false`: API keys may not call this route at all (403 `forbidden`): creating API keys, deleting the
     * account, administration. Sessions only.
     */
    apiKeys?: boolean;
    /**
     * `true`: an account scheduled for deletion may call this `/api/v1` route (its profile, the deletion
     * state, cancelling the deletion). Every other `/api/v1` route answers such an account 403
     * `account_pending_deletion`.
     */
    allowPendingDeletion?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller, or `null` when the request carries no valid credential. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /**
     * The guard of a route that requires a principal. Declare it on the route as `preParsing:
     * app.requireAuth` (with more guards: `preParsing: [app.requireAuth, …]`): `preParsing` runs after the
     * global `onRequest` hooks (authentication, rate limits) and before the body is read, parsed or
     * validated, so a request without credentials answers 401 whatever its body, content type or query
     * (never 400, 413 or 415 describing the schema). Any other hook is refused when the route is
     * registered.
     * @throws {ProblemError} `unauthenticated` (401) when the request has none.
     */
    requireAuth: (request: FastifyRequest) => Promise<void>;
    /**
     * The guard of a route that requires an admin principal signed in with a session (never an API key);
     * declared as `preParsing: app.requireAdmin`, like {@link FastifyInstance.requireAuth}.
     * @throws {ProblemError} `unauthenticated` (401) without one, `forbidden` (403) for a non-admin or an
     *   API key.
     */
    requireAdmin: (request: FastifyRequest) => Promise<void>;
    /**
     * The guarded routes, as their guards declare them: `"<METHOD> <route pattern>"` (`"GET /api/v1/me"`)
     * → who may call it. A route absent from the map has no guard (it is public, or checks credentials
     * itself). For tests and checks of the API description (every guarded route answers 401 first).
     */
    routeGuards: ReadonlyMap<string, RouteGuard>;
  }
}

/**
 * What a guarded route requires of its caller: `auth` `user` (any principal, `requireAuth`) or `admin`
 * (`requireAdmin`); whether API keys may call it at all (`apiKeys`; never on admin routes), and the API key
 * scope it needs (`scope`).
 */
export interface RouteGuard {
  auth: 'user' | 'admin';
  apiKeys: boolean;
  scope: ApiKeyScope;
}

/** The 401 problem code and detail for each reason a presented credential was refused (see authenticate). */
const FAILURES: Record<string, { code: ProblemCode; detail: string }> = {
  malformed: {
    code: 'unauthenticated',
    detail: 'The Authorization header is malformed: send `Authorization: Bearer <token>`.',
  },
  invalid: { code: 'unauthenticated', detail: 'The access token or session is not valid. Sign in again.' },
  expired: {
    code: 'unauthenticated',
    detail: 'The access token has expired. Refresh it with your refresh token, or sign in again.',
  },
  revoked: {
    code: 'unauthenticated',
    detail: 'The session has ended (signed out, revoked or timed out). Sign in again.',
  },
  inactive: { code: 'unauthenticated', detail: 'This account is not active.' },
  invalid_api_key: {
    code: 'invalid_api_key',
    detail: 'The API key is not valid: it is mistyped, unknown or revoked. Create a new one if you need to.',
  },
  api_key_expired: {
    code: 'api_key_expired',
    detail: 'The API key has expired. Create a new one.',
  },
  api_key_disabled: {
    code: 'api_key_disabled',
    detail:
      'This API key is disabled: a plan change left more keys than the plan allows, and the newest were disabled (GET /api/v1/billing lists them). Upgrade the plan to enable it again, or use an older key.',
  },
};

/**
 * Why a request that presented a credential got no principal (for the 401 problem and
 * `WWW-Authenticate`): the credential was malformed, invalid, expired, revoked, for an inactive account,
 * or an API key that is not valid (`invalid_api_key`: malformed, bad checksum, unknown or revoked) or has
 * expired (`api_key_expired`), or was disabled by a plan downgrade (`api_key_disabled`).
 */
export type AuthFailure =
  | 'malformed'
  | 'invalid'
  | 'expired'
  | 'revoked'
  | 'inactive'
  | 'invalid_api_key'
  | 'api_key_expired'
  | 'api_key_disabled';

/** The result of checking a presented credential: the principal it stands for, or why it is refused. */
export type CredentialCheck = { ok: true; principal: Principal } | { ok: false; failure: AuthFailure };

/**
 * The problem code and detail (what a 401 answer carries) for a credential refused for `failure`; used by
 * the open streams that end when their credential stops being valid (src/streams/credentials.ts).
 */
export function credentialProblem(failure: AuthFailure): { code: ProblemCode; detail: string } {
  return FAILURES[failure] ?? FAILURES.invalid!;
}

/** The method-based default scope of a route: `read` for GET and HEAD, `write` otherwise. */
export function defaultScope(method: string): ApiKeyScope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

function authenticated(
  request: FastifyRequest,
): asserts request is FastifyRequest & { principal: Principal } {
  if (!request.principal) {
    const failure = (request as { authFailure?: string | null }).authFailure;
    const bearer = /^Bearer /i.test(request.headers.authorization ?? '');
    const known = failure ? FAILURES[failure] : undefined;
    throw new ProblemError(
      known?.code ?? 'unauthenticated',
      known?.detail ??
        'This endpoint needs credentials: send `Authorization: Bearer <API key or access token>`, or sign in.',
      {},
      // RFC 6750 §3: a bearer token that was refused is reported as `invalid_token`.
      { 'www-authenticate': bearer && failure ? 'Bearer error="invalid_token"' : 'Bearer' },
    );
  }
}

/**
 * Route hooks no authentication guard may sit in: all but `onRequest` run after the body is parsed or
 * validated, and a route's `onRequest` would run before the global deletion and API-key checks (another
 * order of answers than every other route's).
 */
const AFTER_PARSING_HOOKS = [
  'onRequest',
  'preValidation',
  'preHandler',
  'preSerialization',
  'onSend',
  'onResponse',
] as const;

/**
 * Declares the request principal and the `requireAuth` / `requireAdmin` guards that routes use, and
 * enforces, before the body is parsed or validated (a global `preParsing` hook, so after authentication
 * and rate limits, and before the routes' own `preParsing` guards): an account scheduled for deletion
 * reaches only `/api/v1` routes marked `config.allowPendingDeletion` (else 403 `account_pending_deletion`);
 * a request authenticated by an API key is refused with 403 `forbidden` on a route marked
 * `config.apiKeys: false`, and with 403 `insufficient_scope` (and `WWW-Authenticate: Bearer
 * error="insufficient_scope"`, RFC 6750 §3.1) when the key lacks the route's `config.scope` (default
 * {@link defaultScope}).
 *
 * The order of answers is therefore 429 (limits) → 401 (no valid credential) → 403 (deletion, API key,
 * role, consent) → 400/413/415 (the request itself): a caller learns nothing about a route's schema
 * before it has shown who it is (issue #16, defect 9). A route that puts `requireAuth` or `requireAdmin`
 * in any hook but `preParsing` fails to register.
 */
export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('principal', null);
    const requireAuth = async (request: FastifyRequest) => {
      authenticated(request);
    };
    app.decorate('requireAuth', requireAuth);
    const requireAdmin = async (request: FastifyRequest) => {
      authenticated(request);
      if (request.principal.type === 'api_key') {
        throw new ProblemError(
          'forbidden',
          'Administration needs an administrator signed in with a session; API keys cannot use it.',
        );
      }
      if (request.principal.role !== 'admin') {
        throw new ProblemError('forbidden', 'This endpoint is for administrators only.');
      }
    };
    app.decorate('requireAdmin', requireAdmin);
    const guards = new Map<string, RouteGuard>();
    app.decorate('routeGuards', guards);
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      for (const hook of AFTER_PARSING_HOOKS) {
        const handlers: unknown[] = [route[hook] ?? []].flat();
        if (handlers.includes(requireAuth) || handlers.includes(requireAdmin)) {
          throw new Error(
            `${methods.join(',')} ${route.url}: declare authentication guards as \`preParsing: app.requireAuth\` (or requireAdmin), not in \`${hook}\`, so they run before the body is parsed and validated.`,
          );
        }
      }
      const before: unknown[] = [route.preParsing ?? []].flat();
      const auth = before.includes(requireAdmin)
        ? 'admin'
        : before.includes(requireAuth)
          ? 'user'
          : undefined;
      if (!auth) return;
      for (const method of methods) {
        guards.set(`${method} ${route.url}`, {
          auth,
          apiKeys: auth !== 'admin' && route.config?.apiKeys !== false,
          scope: route.config?.scope ?? defaultScope(method),
        });
      }
    });
    app.addHook('preParsing', async (request) => {
      const principal = request.principal;
      if (!principal || request.is404) return;
      const config = request.routeOptions.config;
      if (
        principal.pendingDeletion &&
        !config.allowPendingDeletion &&
        request.routeOptions.url?.startsWith('/api/v1/')
      ) {
        throw new ProblemError(
          'account_pending_deletion',
          'This account is scheduled for deletion and can only cancel it: POST /api/v1/account/deletion/cancel (or `fleece account delete --cancel`). GET /api/v1/account/deletion shows the date.',
        );
      }
      if (principal.type !== 'api_key') return;
      if (config.apiKeys === false) {
        throw new ProblemError(
          'forbidden',
          'API keys cannot do this: sign in (browser or `fleece login`) to manage API keys, administer or delete the account.',
        );
      }
      const needed = config.scope ?? defaultScope(request.method);
      if (!principal.scopes?.includes(needed)) {
        throw new ProblemError(
          'insufficient_scope',
          `This API key lacks the \`${needed}\` scope this endpoint needs. Create a key with that scope.`,
          { scope: needed },
          { 'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"` },
        );
      }
    });
  },
  { name: 'fleece-auth' },
);
