/**
 * The limits of the HTTP API as data: the auth endpoints' own limits and the named route limits. Below
 * `config.ts` (which validates `FLEECE_ROUTE_LIMITS` against these names) and below every module and plugin:
 * routes name a limit, src/plugins/rate-limit.ts applies it.
 */

/**
 * Per-route limits of the auth endpoints (docs/api.md, "Rate limits": auth endpoints carry their own per-IP and
 * per-identifier limits). Windows are in ms. Routes use them as `config: { rateLimit: AUTH_LIMITS.x }`;
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

/** One named route limit: `max` requests per `timeWindow` ms, and what happens when the store fails. */
export interface RouteLimit {
  max: number;
  timeWindow: number;
  /**
   * When the shared store (Redis) cannot be reached: `true` refuses the request (503), for operations that
   * cost money or move data; `false` lets it through unlimited. Either way a warning is logged.
   */
  failClosed: boolean;
}

/**
 * The named route limits (docs/api.md, "Rate limits"; claim C17), per user when authenticated and per IP otherwise, on
 * every plan. A route takes one with a single line, `config: { limit: 'agentExecute' }`. A deployment may
 * change a maximum with `FLEECE_ROUTE_LIMITS` (logged as a warning at start-up); these are the defaults.
 */
export const ROUTE_LIMITS = {
  /** `POST /api/v1/chat…`: 20 per minute. */
  chat: { max: 20, timeWindow: 60_000, failClosed: false },
  /** `POST /api/v1/agents/:id/execute`: 10 per minute; refused while the store is down. */
  agentExecute: { max: 10, timeWindow: 60_000, failClosed: true },
  /** `POST /api/v1/flows/:id/trigger`: 5 per minute; refused while the store is down. */
  flowTrigger: { max: 5, timeWindow: 60_000, failClosed: true },
  /** `GET /api/v1/export`: 5 per hour; refused while the store is down. */
  dataExport: { max: 5, timeWindow: 3_600_000, failClosed: true },
} as const satisfies Record<string, RouteLimit>;

/** The name of a route limit of {@link ROUTE_LIMITS}. */
export type RouteLimitName = keyof typeof ROUTE_LIMITS;
