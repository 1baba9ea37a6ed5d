import { createRequire } from 'node:module';
import rateLimit, { type FastifyRateLimitOptions, type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { HealthStatus } from '@fleece/sdk/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { ProblemError } from '../errors.js';
import { rateLimitedProblem } from '../http/problem.js';
import { type AttemptCounter, memoryAttemptCounter, redisAttemptCounter } from '../lib/attempt-counter.js';
import { clientSubject } from '../lib/client-address.js';
import {
  API_LIMIT_WINDOWS,
  DEFAULT_LIMIT_WINDOW_MS,
  ROUTE_LIMITS,
  type RouteLimit,
  type RouteLimitName,
} from '../limits.js';
import { auditContext } from '../modules/audit/context.js';

/** How often the same store failure is logged again, in ms. */
const STORE_WARNING_INTERVAL_MS = 10_000;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's named limit (`ROUTE_LIMITS` of src/limits.ts), or `false` for none. Without it, an `/api/`
     * route has the default limit (`FLEECE_RATE_LIMIT_PER_MINUTE`).
     */
    limit?: RouteLimitName | false;
  }
  interface FastifyInstance {
    /** Where rate-limit counters live, and whether that store answers (for `/api/health`). */
    rateLimitStore: RateLimitStore;
    /**
     * A lock-out counted atomically per attempt, in the rate-limit store ({@link AttemptLimit}): `max`
     * attempts per `timeWindow` ms for each key `keyGenerator` gives.
     */
    attemptLimit(options: {
      max: number;
      timeWindow: number;
      keyGenerator: (request: FastifyRequest) => string;
    }): AttemptLimit;
    /** The caller's API request counts in the current minute and day windows (for `/api/v1/me`). */
    apiRequestUsage(
      request: FastifyRequest,
      limits: { perMinute: number | null; perDay: number | null },
    ): Promise<ApiRequestUsage | undefined>;
  }
}

/** The rate-limit store as health sees it. */
export interface RateLimitStore {
  kind: 'memory' | 'redis';
  /** `ok`, or `degraded` when Redis does not answer a PING within 500 ms. Never throws. */
  status(): Promise<HealthStatus>;
}

/**
 * A lock-out whose check and count are one atomic step per attempt, across instances (the counter lives in
 * the rate-limit store: in process, or Redis): `reserve` counts the attempt first and refuses it when it
 * is over the maximum, so concurrent attempts can never all pass one check. An attempt that succeeded
 * (a correct code) calls `release` to give its unit back; a refused attempt takes no slot from later ones
 * (the window's count is already over).
 */
export interface AttemptLimit {
  /**
   * Counts one attempt of the request's key. Throws 429 `rate_limited` (with `Retry-After`, the rest of the
   * window) when the key is over its maximum; otherwise returns the slot, whose `release()` gives the
   * attempt back. When the store fails, logs a warning and lets the attempt through (as the other auth
   * limits do) with a `release()` that does nothing.
   */
  reserve(request: FastifyRequest): Promise<{ release(): Promise<void> }>;
}

/** Requests through the user's API keys against the plan's limits, per window. */
export interface ApiRequestUsage {
  minute: { used: number; limit: number | null };
  day: { used: number; limit: number | null };
}

/** A path as limit keys see it: without query, lower case, no duplicate or trailing slashes. */
export function canonicalPath(path: string): string {
  const bare = path
    .split('?')[0]!
    .replace(/\/{2,}/g, '/')
    .toLowerCase();
  return bare.length > 1 ? bare.replace(/\/+$/, '') : bare;
}

/**
 * The method a request counts as: `HEAD` as `GET` (RFC 9110 §9.3.2: Fastify answers HEAD with the GET
 * route's handler, so the two share one counter), every other method as itself.
 */
export function limitMethod(method: string): string {
  return method === 'HEAD' ? 'GET' : method;
}

/**
 * The route a request counts against: its method ({@link limitMethod}: HEAD counts as GET) and canonical
 * route pattern, e.g. `GET /api/v1/me`.
 */
export function routeKey(request: FastifyRequest): string {
  return `${limitMethod(request.method)} ${canonicalPath(request.routeOptions.url ?? request.url)}`;
}

/**
 * Who a limit counts: the user when authenticated, else the client's subject (`src/lib/client-address.ts`);
 * with `per: 'ip'` ({@link RouteLimit}), the client's subject always.
 */
export function limitSubject(request: FastifyRequest, per: RouteLimit['per'] = 'caller'): string {
  return request.principal && per === 'caller'
    ? `user:${request.principal.userId}`
    : `ip:${clientSubject(request)}`;
}

const API_LIMITS = Symbol('fleece.apiLimits');
const API_USAGE = Symbol('fleece.apiUsage');
type WithApiLimits = FastifyRequest & {
  [API_LIMITS]?: { perMinute: number | null; perDay: number | null };
  /** What this request's own count through the plan limits found (so `/me` need not read it again). */
  [API_USAGE]?: ApiRequestUsage;
};

/** The outcome of one limiter for one request. */
interface Outcome {
  max: number;
  remaining: number;
  ttl: number;
  exceeded: boolean;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

function redisClient(url: string): Redis {
  return new Redis(url, {
    // Fail fast while Redis is away: no queue of commands waiting for a reconnect, no long retries.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/**
 * The one place that builds the options of `@fastify/rate-limit`: the store (in process, or Redis when
 * `REDIS_URL` is set, shared by every instance), the client's subject (`clientSubject`: IPv6 by /64,
 * IPv4-mapped IPv6 as IPv4) as the default key, and 429
 * `rate_limited` problem+json with `Retry-After` and `X-RateLimit-Limit/Remaining/Reset`. Fleece's routes
 * are limited by the hook of {@link rateLimitPlugin} (`config.limit`); the plugin's own per-route
 * `config.rateLimit` stays opt-in (`global: false`), and a route that sets it has no default limit besides.
 * A route's HEAD counts against its GET ({@link headSharingStore}). Store failures on such routes let the
 * request through (`skipOnError`).
 */
export function rateLimitOptions(_app: FastifyInstance, redis?: Redis): FastifyRateLimitOptions {
  const base = redis
    ? new RedisStore(false, false, redis, 'fleece:rl:')
    : new LocalStore(false, false, 50_000);
  return {
    global: false,
    keyGenerator: clientSubject,
    skipOnError: true,
    store: headSharingStore(base),
    errorResponseBuilder: (_request: unknown, context: { ttl: number }) =>
      rateLimitedProblem(context.ttl / 1000),
  };
}

/** The stores of `@fastify/rate-limit` (CommonJS files without their own type declarations). */
interface StoreWithRead extends FastifyRateLimitStore {
  read(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void;
}
type StoreCtor = new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  ...rest: unknown[]
) => StoreWithRead;
const requireCjs = createRequire(import.meta.url);
const LocalStore = requireCjs('@fastify/rate-limit/store/LocalStore.js') as StoreCtor;
const RedisStore = requireCjs('@fastify/rate-limit/store/RedisStore.js') as StoreCtor;

/**
 * Wraps a store of `@fastify/rate-limit` so that a route's HEAD counts against its GET. The plugin gives
 * every route its own child store (a separate in-process table, or a Redis key prefix with the method), and
 * Fastify's automatic HEAD route runs the GET handler: without this, HEAD would be a second, full budget
 * (RFC 9110 §9.3.2). The child of a route is made for `GET` when the route is `HEAD` ({@link limitMethod})
 * and made once per method and URL, so both routes share it. Limiters made with `app.createRateLimit`
 * (no route) get a child of their own each, as before.
 */
export function headSharingStore(base: StoreWithRead): new () => FastifyRateLimitStore {
  const children = new Map<string, FastifyRateLimitStore>();
  const wrap = (store: StoreWithRead): StoreWithRead => ({
    incr: (key, callback, timeWindow, max) => store.incr(key, callback, timeWindow, max),
    read: (key, callback) => store.read(key, callback),
    child(params) {
      const route = (params as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      if (!route?.url || typeof route.method !== 'string') return wrap(store.child(params) as StoreWithRead);
      const method = limitMethod(route.method);
      const id = `${method} ${route.url}`;
      let child = children.get(id);
      if (!child) {
        child = wrap(
          store.child({ ...params, routeInfo: { ...route, method } } as typeof params) as StoreWithRead,
        );
        children.set(id, child);
      }
      return child;
    },
  });
  const root = wrap(base);
  return function SharedStore() {
    return root;
  } as unknown as new () => FastifyRateLimitStore;
}

function setHeaders(reply: FastifyReply, outcome: Outcome): void {
  reply.header('x-ratelimit-limit', outcome.max);
  reply.header('x-ratelimit-remaining', outcome.remaining);
  reply.header('x-ratelimit-reset', Math.max(0, Math.ceil(outcome.ttl / 1000)));
}

/**
 * Rate limiting (docs/api.md "Rate limits", claims C17 and C25), with `@fastify/rate-limit` as the limiter and its
 * in-process or Redis store. On every `/api/` request, after authentication:
 *
 * - a route's named limit (`config.limit`, `ROUTE_LIMITS` of src/limits.ts), per user or per canonical IP
 *   (the auth endpoints' limits per canonical IP only);
 * - for API-key requests, the plan's limits per user across all of their keys (per minute and per day;
 *   Enterprise values come from the account's overrides); a plan without API access answers 403
 *   `plan_limit_reached`;
 * - for every other request to a route without a named limit, the default limit
 *   (`FLEECE_RATE_LIMIT_PER_MINUTE` per minute, per route, per user or IP).
 *
 * The response carries `X-RateLimit-Limit/Remaining/Reset` of the tightest limit that applied; a request
 * over any limit answers 429 `rate_limited` with `Retry-After` (never 401 or 500), and every 429 records
 * `security.rate_limit_exceeded` (throttled to one per caller and route per minute). When the store
 * fails, a warning is logged and the request goes through, except on fail-closed limits (execute, trigger,
 * export), which answer 503 `service_unavailable` until the store is back; `/api/health` reports the store
 * `degraded`.
 */
export const rateLimitPlugin = fp(
  async (app) => {
    const redis = app.config.redisUrl ? redisClient(app.config.redisUrl) : undefined;
    let warnedAt = 0;
    const warn = (error: unknown, what: string) => {
      const now = Date.now();
      if (now - warnedAt < STORE_WARNING_INTERVAL_MS) return;
      warnedAt = now;
      app.log.warn({ err: error }, `rate-limit store (Redis) failed: ${what}`);
    };
    if (redis) {
      redis.on('error', (error) => warn(error, 'connection error'));
      // Start with a connected client when Redis is there; when it is not, start anyway (degraded).
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          redis.off('ready', done);
          redis.off('error', done);
          resolve();
        };
        const timer = setTimeout(done, 2_000);
        redis.once('ready', done);
        redis.once('error', done);
      });
      app.addHook('onClose', async () => {
        redis.disconnect();
      });
    }
    await app.register(rateLimit, rateLimitOptions(app, redis));

    app.decorate('rateLimitStore', {
      kind: redis ? 'redis' : 'memory',
      async status(): Promise<HealthStatus> {
        if (!redis) return 'ok';
        try {
          await Promise.race([
            redis.ping(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('PING timed out')), 500).unref()),
          ]);
          return 'ok';
        } catch {
          return 'degraded';
        }
      },
    } satisfies RateLimitStore);

    const attempts: AttemptCounter = redis
      ? redisAttemptCounter(redis, 'fleece:attempts:')
      : memoryAttemptCounter(() => app.clock.now().getTime());
    app.decorate('attemptLimit', (options: Parameters<FastifyInstance['attemptLimit']>[0]) => ({
      async reserve(request: FastifyRequest) {
        const key = options.keyGenerator(request);
        let taken: { count: number; ttlMs: number };
        try {
          taken = await attempts.take(key, options.timeWindow);
        } catch (error) {
          warn(error, 'counting an attempt; letting it through');
          return { release: async () => {} };
        }
        if (taken.count > options.max) throw rateLimitedProblem(taken.ttlMs / 1000);
        let released = false;
        return {
          async release() {
            if (released) return;
            released = true;
            try {
              await attempts.giveBack(key);
            } catch (error) {
              warn(error, 'giving an attempt back');
            }
          },
        };
      },
    }));

    const subjectKey =
      (prefix: string, per: RouteLimit['per'] = 'caller') =>
      (request: FastifyRequest) =>
        `${prefix}:${routeKey(request)}|${limitSubject(request, per)}`;
    for (const [name, max] of Object.entries(app.config.routeLimits)) {
      const limit = ROUTE_LIMITS[name as RouteLimitName];
      if (max !== limit.max)
        app.log.warn(
          `route limit ${name} is ${max} per ${limit.timeWindow / 1000} s (FLEECE_ROUTE_LIMITS), not the documented ${limit.max}`,
        );
    }
    const named = Object.fromEntries(
      Object.entries(ROUTE_LIMITS).map(([name, limit]) => [
        name,
        app.createRateLimit({
          max: app.config.routeLimits[name as RouteLimitName] ?? limit.max,
          timeWindow: limit.timeWindow,
          skipOnError: false,
          keyGenerator: subjectKey(`route:${name}`, limit.per),
        }),
      ]),
    ) as Record<RouteLimitName, Limiter>;
    const fallback = app.createRateLimit({
      max: app.config.rateLimitPerMinute,
      timeWindow: DEFAULT_LIMIT_WINDOW_MS,
      skipOnError: false,
      keyGenerator: subjectKey('route'),
    });
    const apiLimiter = (window: 'perMinute' | 'perDay') =>
      app.createRateLimit({
        timeWindow: API_LIMIT_WINDOWS[window],
        max: (request: FastifyRequest) => (request as WithApiLimits)[API_LIMITS]?.[window] ?? 0,
        skipOnError: false,
        keyGenerator: (request: FastifyRequest) => `api:${window}:${request.principal!.userId}`,
      });
    const perMinute = apiLimiter('perMinute');
    const perDay = apiLimiter('perDay');

    /** Runs one limiter; a store failure is logged, and fails the request only when `failClosed`. */
    async function check(limiter: Limiter, request: FastifyRequest, failClosed: boolean) {
      try {
        const result = await limiter(request);
        if (result.isAllowed) return undefined;
        return {
          max: result.max,
          remaining: result.remaining,
          ttl: result.ttl,
          exceeded: result.isExceeded,
        } satisfies Outcome;
      } catch (error) {
        warn(error, failClosed ? 'refusing a fail-closed operation' : 'letting the request through');
        if (!failClosed) return undefined;
        throw new ProblemError(
          'service_unavailable',
          'This operation is rate-limited and the rate-limit store is unavailable, so it is refused for now. Try again shortly.',
          {},
          { 'retry-after': '5' },
        );
      }
    }

    app.addHook('onRequest', async (request, reply) => {
      // The matched route, never the raw URL: one route, one limit, however the path was spelled.
      if (request.is404 || !request.routeOptions.url?.startsWith('/api/')) return;
      const config = request.routeOptions.config;
      if (config.limit === false) return;
      const principal = request.principal;
      const limit = config.limit ? ROUTE_LIMITS[config.limit] : undefined;
      const outcomes: (Outcome | undefined)[] = [];
      if (config.limit && limit) outcomes.push(await check(named[config.limit], request, limit.failClosed));
      if (principal?.type === 'api_key') {
        const limits = principal.apiLimits ?? { perMinute: null, perDay: null };
        if (limits.perMinute === null || limits.perDay === null) {
          throw new ProblemError(
            'plan_limit_reached',
            "This account's plan has no API access: API keys cannot be used on it. Upgrade to use the API.",
            { upgrade: true, limit: 'apiKeys', max: 0 },
          );
        }
        (request as WithApiLimits)[API_LIMITS] = limits;
        const failClosed = limit?.failClosed ?? false;
        const minute = await check(perMinute, request, failClosed);
        const day = await check(perDay, request, failClosed);
        outcomes.push(minute, day);
        if (minute && day) {
          (request as WithApiLimits)[API_USAGE] = {
            minute: { used: Math.min(minute.max, minute.max - minute.remaining), limit: limits.perMinute },
            day: { used: Math.min(day.max, day.max - day.remaining), limit: limits.perDay },
          };
        }
      } else if (!limit && config.rateLimit === undefined) {
        outcomes.push(await check(fallback, request, false));
      }
      const applied = outcomes.filter((o): o is Outcome => o !== undefined);
      if (applied.length === 0) return;
      const exceeded = applied.filter((o) => o.exceeded);
      if (exceeded.length > 0) {
        // Wait for the longest of the exceeded windows: retrying sooner would only be refused again.
        const worst = exceeded.reduce((a, b) => (b.ttl > a.ttl ? b : a));
        setHeaders(reply, { ...worst, remaining: 0 });
        throw rateLimitedProblem(worst.ttl / 1000);
      }
      setHeaders(
        reply,
        applied.reduce((a, b) => (b.remaining < a.remaining ? b : a)),
      );
    });

    app.decorate(
      'apiRequestUsage',
      async (request: FastifyRequest, limits: { perMinute: number | null; perDay: number | null }) => {
        if (!request.principal) return undefined;
        const counted = (request as WithApiLimits)[API_USAGE];
        if (counted) return counted;
        if (limits.perMinute === null || limits.perDay === null) {
          return { minute: { used: 0, limit: null }, day: { used: 0, limit: null } };
        }
        (request as WithApiLimits)[API_LIMITS] = limits;
        try {
          const [minute, day] = await Promise.all([
            perMinute(request, { increment: false }),
            perDay(request, { increment: false }),
          ]);
          const used = (r: typeof minute, max: number) => (r.isAllowed ? 0 : Math.max(0, max - r.remaining));
          return {
            minute: { used: used(minute, limits.perMinute), limit: limits.perMinute },
            day: { used: used(day, limits.perDay), limit: limits.perDay },
          };
        } catch (error) {
          warn(error, 'reading API usage');
          return undefined;
        }
      },
    );

    // Claim C25: every refusal for rate is a security event (route limits, plan limits, per-identifier
    // limits and lock-outs alike); at most one record per caller and route per minute. Awaited before the
    // 429 goes out.
    app.addHook('onError', async (request, _reply, error) => {
      if (!(error instanceof ProblemError) || error.code !== 'rate_limited') return;
      const route = routeKey(request);
      await app.audit.recordDetached(
        auditContext(request),
        {
          action: 'security.rate_limit_exceeded',
          resourceType: 'route',
          resourceId: route,
          outcome: 'denied',
        },
        {
          throttleKey: `security.rate_limit_exceeded:${limitSubject(request)}:${route}`,
          windowMs: 60_000,
        },
      );
    });
  },
  {
    name: 'fleece-rate-limit',
    dependencies: ['fleece-config', 'fleece-audit', 'fleece-authenticate'],
  },
);
