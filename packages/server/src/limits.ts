/**
 * Every limit Fleece states, in one place: the route limits (requests per window), the auth endpoints'
 * per-identifier limits, the default limit's window, the windows of the per-plan API limits, and the plan
 * table (entitlements and quotas). The rate-limit plugin (`src/plugins/rate-limit.ts`) applies the route
 * limits, `src/modules/plans/` the entitlements; docs (docs/api.md "Rate limits", docs/security.md claims C9,
 * C17 and "Plans and entitlements", docs/operations.md) state the same figures, and
 * `test/docs/limits.test.ts` checks them against this module. Nothing here imports the rest of the server:
 * config, plugins and modules all read it.
 */
import type { Entitlements, PlanId } from '@fleece/sdk/contract';

/** One minute, in ms. */
const MINUTE_MS = 60_000;
/** One hour, in ms. */
const HOUR_MS = 3_600_000;

/**
 * One named route limit: `max` requests per `timeWindow` ms.
 *
 * - `per`: who is counted. `caller` is the user when authenticated and the client's address otherwise;
 *   `ip` is always the client's address (`clientSubject`), for sign-in and token endpoints whose callers
 *   are not yet known.
 * - `failClosed`: when the shared store (Redis) cannot be reached, `true` refuses the request (503), for
 *   operations that cost money or move data; `false` lets it through unlimited. Either way a warning is
 *   logged.
 */
export interface RouteLimit {
  max: number;
  timeWindow: number;
  per: 'caller' | 'ip';
  failClosed: boolean;
}

/**
 * The named route limits (docs/api.md, "Rate limits"; claim C17), on every plan. A route takes one with a
 * single line, `config: { limit: 'agentExecute' }`, and the rate-limit plugin applies it, per route and
 * counted subject. A deployment may change a maximum with `FLEECE_ROUTE_LIMITS` (logged as a warning at
 * start-up); these are the defaults.
 */
export const ROUTE_LIMITS = {
  /** `POST /api/v1/chat…`: 20 per minute. */
  chat: { max: 20, timeWindow: MINUTE_MS, per: 'caller', failClosed: false },
  /** `POST /api/v1/agents/:id/execute`: 10 per minute; refused while the store is down. */
  agentExecute: { max: 10, timeWindow: MINUTE_MS, per: 'caller', failClosed: true },
  /** `POST /api/v1/flows/:id/trigger`: 5 per minute; refused while the store is down. */
  flowTrigger: { max: 5, timeWindow: MINUTE_MS, per: 'caller', failClosed: true },
  /** `GET /api/v1/export`: 5 per hour; refused while the store is down. */
  dataExport: { max: 5, timeWindow: HOUR_MS, per: 'caller', failClosed: true },
  /** `POST /api/auth/magic-link`: 5 per minute per IP. */
  magicLinkPerIp: { max: 5, timeWindow: MINUTE_MS, per: 'ip', failClosed: false },
  /** User-code entry (`POST /api/auth/device/lookup` and `/decision`): 20 per minute per IP. */
  userCodePerIp: { max: 20, timeWindow: MINUTE_MS, per: 'ip', failClosed: false },
  /** The token, device and revocation endpoints, and magic-link verification: 60 per minute per IP. */
  tokenPerIp: { max: 60, timeWindow: MINUTE_MS, per: 'ip', failClosed: false },
  /** Starting an OAuth sign-in or a device authorization: 30 per minute per IP. */
  startPerIp: { max: 30, timeWindow: MINUTE_MS, per: 'ip', failClosed: false },
} as const satisfies Record<string, RouteLimit>;

/** The name of a route limit of {@link ROUTE_LIMITS}. */
export type RouteLimitName = keyof typeof ROUTE_LIMITS;

/**
 * The auth endpoints' limits keyed by something other than the route (docs/security.md, "Rate limits"):
 * `max` attempts per `timeWindow` ms. The routes check them themselves, with `app.createRateLimit` (an
 * email address) or `app.attemptLimit` (wrong user codes).
 */
export const AUTH_LIMITS = {
  /** `POST /api/auth/magic-link`: 3 per 10 minutes per email address, from any IP. */
  magicLinkPerEmail: { max: 3, timeWindow: 10 * MINUTE_MS },
  /** Wrong user codes per IP before that IP is locked out of user-code entry for the rest of the window. */
  userCodeFailuresPerIp: { max: 5, timeWindow: 15 * MINUTE_MS },
} as const satisfies Record<string, { max: number; timeWindow: number }>;

/** The default maximum per minute of every other `/api/` route (`FLEECE_RATE_LIMIT_PER_MINUTE`). */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
/** The window of the default limit that every other `/api/` route has, in ms (the maximum is configured). */
export const DEFAULT_LIMIT_WINDOW_MS = MINUTE_MS;
/** The windows of the per-plan API limits (all of a user's API keys together), in ms. */
export const API_LIMIT_WINDOWS = { perMinute: MINUTE_MS, perDay: 86_400_000 } as const;

/**
 * A limit as the docs write it: `20/min`, `5/hour`, `1,000/day`, or `3 per 10 minutes` for another window.
 * @example rate(ROUTE_LIMITS.agentExecute); // '10/min'
 */
export function rate(limit: { max: number; timeWindow: number }): string {
  const max = limit.max.toLocaleString('en-US');
  if (limit.timeWindow === MINUTE_MS) return `${max}/min`;
  if (limit.timeWindow === HOUR_MS) return `${max}/hour`;
  if (limit.timeWindow === API_LIMIT_WINDOWS.perDay) return `${max}/day`;
  return `${max} per ${limit.timeWindow / MINUTE_MS} minutes`;
}

/**
 * Plan identifiers (as stored in `users.plan`) and what a plan allows, as the contract states them
 * (`@fleece/sdk/contract`): API keys and agents a user may hold, executions per calendar month (UTC), days
 * of history kept, premium models, and requests through all of a user's API keys together per minute and
 * per day (`null`: no API access).
 */
export type { Entitlements, PlanId };

/** One plan: its display name and entitlements. */
export interface Plan {
  id: PlanId;
  name: string;
  entitlements: Entitlements;
}

/**
 * Every plan, by id (docs/security.md, "Plans and entitlements"). Enterprise values may be overridden per
 * account (`account_limits`, set by an admin; `effectiveEntitlements` in src/modules/plans/entitlements.ts);
 * everything else reads plan limits from here.
 */
export const PLANS: Readonly<Record<PlanId, Plan>> = {
  free: {
    id: 'free',
    name: 'Free',
    entitlements: {
      apiKeys: 0,
      agents: 1,
      executionsPerMonth: 50,
      historyRetentionDays: 7,
      premiumModels: false,
      apiBurstPerMinute: null,
      apiPerDay: null,
    },
  },
  pro: {
    id: 'pro',
    name: 'Pro',
    entitlements: {
      apiKeys: 5,
      agents: 10,
      executionsPerMonth: 2_000,
      historyRetentionDays: 30,
      premiumModels: true,
      apiBurstPerMinute: 60,
      apiPerDay: 5_000,
    },
  },
  business: {
    id: 'business',
    name: 'Business',
    entitlements: {
      apiKeys: 10,
      agents: 50,
      executionsPerMonth: 20_000,
      historyRetentionDays: 90,
      premiumModels: true,
      apiBurstPerMinute: 300,
      apiPerDay: 50_000,
    },
  },
  enterprise: {
    id: 'enterprise',
    name: 'Enterprise',
    entitlements: {
      apiKeys: 25,
      agents: 500,
      executionsPerMonth: 200_000,
      historyRetentionDays: 365,
      premiumModels: true,
      apiBurstPerMinute: 1_000,
      apiPerDay: 500_000,
    },
  },
};

/** The plan with id `id`. */
export function planOf(id: PlanId): Plan {
  return PLANS[id];
}
