import rateLimit, { type FastifyRateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';
import { auditContext } from '../modules/audit/context.js';

/**
 * Per-route limits of the auth endpoints (DESIGN.md §5: "auth endpoints carry their own per-IP and
 * per-identifier limits"). Windows are in ms. Routes use them as `config: { rateLimit: AUTH_LIMITS.x }`;
 * per-identifier limits (an email address, failed user-code guesses) go through `app.createRateLimit`.
 */
export const AUTH_LIMITS = {
  /** `POST /api/auth/magic-link`, per IP. */
  magicLinkPerIp: { max: 5, timeWindow: 60_000 },
  /** `POST /api/auth/magic-link`, per email address (keyed check in the route). */
  magicLinkPerEmail: { max: 3, timeWindow: 10 * 60_000 },
  /** User-code entry (`POST /api/auth/device/lookup` and `/decision`), per IP. */
  userCodePerIp: { max: 20, timeWindow: 60_000 },
  /** Wrong user codes per IP before that IP is locked out of user-code entry for the rest of the window. */
  userCodeFailuresPerIp: { max: 5, timeWindow: 15 * 60_000 },
  /** The token, device and revocation endpoints, per IP. */
  tokenPerIp: { max: 60, timeWindow: 60_000 },
  /** Starting an OAuth sign-in or a device authorization, per IP. */
  startPerIp: { max: 30, timeWindow: 60_000 },
} as const;

/** The detail of a 429 problem, with how long to wait. */
export function rateLimitedProblem(retryAfterSeconds: number): ProblemError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ProblemError(
    'rate_limited',
    `Too many requests. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
    {},
    { 'retry-after': String(seconds) },
  );
}

/**
 * The one place that builds the options of `@fastify/rate-limit`. Limits are opt-in per route
 * (`global: false`); the store is in process for now (the Redis store for several instances plugs in
 * here). A limited request answers 429 `rate_limited` problem+json with `Retry-After` and the
 * `X-RateLimit-Limit/Remaining/Reset` headers.
 */
export function rateLimitOptions(_app: FastifyInstance): FastifyRateLimitOptions {
  return {
    global: false,
    errorResponseBuilder: (_request: unknown, context: { ttl: number }) =>
      rateLimitedProblem(context.ttl / 1000),
  };
}

/**
 * Registers `@fastify/rate-limit` with {@link rateLimitOptions}, and records `security.rate_limit_exceeded`
 * for every 429.
 */
export const rateLimitPlugin = fp(
  async (app) => {
    await app.register(rateLimit, rateLimitOptions(app));
    // Claim C25: every refusal for rate is a security event (route limits, per-identifier limits and
    // lock-outs alike); at most one record per route and address per minute. Awaited before the 429 goes out.
    app.addHook('onError', async (request, _reply, error) => {
      if (!(error instanceof ProblemError) || error.code !== 'rate_limited') return;
      const route = request.routeOptions.url ?? request.url.split('?')[0]!;
      await app.audit.recordDetached(
        auditContext(request),
        {
          action: 'security.rate_limit_exceeded',
          resourceType: 'route',
          resourceId: `${request.method} ${route}`,
          outcome: 'denied',
        },
        {
          throttleKey: `security.rate_limit_exceeded:${request.ip}:${request.method} ${route}`,
          windowMs: 60_000,
        },
      );
    });
  },
  { name: 'fleece-rate-limit', dependencies: ['fleece-config', 'fleece-audit'] },
);
