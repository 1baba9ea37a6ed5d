import { z } from 'zod';

/**
 * Identity endpoints: who the caller is (`GET /api/v1/me`), sign-in by magic link, the sign-in providers,
 * and the browser-side steps of the CLI flows (device approval, loopback consent). Fleece-specific bodies
 * use camelCase; the standard OAuth bodies (snake_case) are in `auth.ts`.
 */

/** An instant as an ISO 8601 string in UTC, such as `2026-01-01T00:00:00.000Z`. */
const Instant = z.iso.datetime();

/** Account roles: `admin` unlocks `/api/v1/admin/*`. */
export const UserRole = z.enum(['user', 'admin']);
export type UserRole = z.infer<typeof UserRole>;

/** Account states; only `active` accounts can sign in. */
export const UserStatus = z.enum(['active', 'suspended', 'pending_deletion']);
export type UserStatus = z.infer<typeof UserStatus>;

/** Plan identifiers (docs/security.md, "Plans and entitlements"). */
export const PlanId = z.enum(['free', 'pro', 'business', 'enterprise']);
export type PlanId = z.infer<typeof PlanId>;

/** A user account as its owner sees it. `name` is `null` when no provider gave one. */
export const User = z.object({
  id: z.string().startsWith('usr_'),
  email: z.email(),
  name: z.string().nullable(),
  role: UserRole,
  status: UserStatus,
  emailVerified: z.boolean(),
  createdAt: Instant,
});
export type User = z.infer<typeof User>;

/**
 * What a plan allows (docs/security.md, "Plans and entitlements"): API keys, agents, executions per calendar month, history retention in
 * days, premium models, and the API burst (per minute) and daily request limits of all of a user's keys
 * together (`null`: no API access).
 */
export const Entitlements = z.object({
  apiKeys: z.number().int().nonnegative(),
  agents: z.number().int().nonnegative(),
  executionsPerMonth: z.number().int().nonnegative(),
  historyRetentionDays: z.number().int().positive(),
  premiumModels: z.boolean(),
  apiBurstPerMinute: z.number().int().positive().nullable(),
  apiPerDay: z.number().int().positive().nullable(),
});
export type Entitlements = z.infer<typeof Entitlements>;

/** One metered limit: how much is `used` of `limit` (`null`: the plan sets no number). */
export const UsageMeter = z.object({
  used: z.number().int().nonnegative(),
  limit: z.number().int().nonnegative().nullable(),
});
export type UsageMeter = z.infer<typeof UsageMeter>;

/**
 * What the account currently uses, against each limit of its plan. Measures are added as features land
 * (agents arrive with the AI platform), so read every field but `activeSessions` as optional.
 *
 * - `activeSessions`: sessions (browser and CLI) that are neither revoked nor expired;
 * - `apiKeys`: keys that are not revoked, of the plan's `apiKeys`;
 * - `agents`: agents owned, of the plan's `agents`;
 * - `executions`: agent executions this calendar month (UTC, `period` such as `2026-01`) of
 *   `executionsPerMonth`; the count starts again at `resetsAt`;
 * - `apiRequests`: requests through all of the account's API keys in the current minute and day windows,
 *   of `apiBurstPerMinute` and `apiPerDay` (`limit: null` on a plan without API access).
 *
 * Counts may lag by a few seconds when another server instance changed them (docs/api.md).
 */
export const Usage = z.object({
  activeSessions: z.number().int().nonnegative(),
  apiKeys: UsageMeter.optional(),
  agents: UsageMeter.optional(),
  executions: UsageMeter.extend({ period: z.string().regex(/^\d{4}-\d{2}$/), resetsAt: Instant }).optional(),
  apiRequests: z.object({ minute: UsageMeter, day: UsageMeter }).optional(),
});
export type Usage = z.infer<typeof Usage>;

/** Answer of `GET /api/v1/me`: the caller's account, plan, entitlements and usage. */
export const MeResponse = z.object({
  user: User,
  plan: z.object({ id: PlanId, name: z.string() }),
  entitlements: Entitlements,
  usage: Usage,
});
export type MeResponse = z.infer<typeof MeResponse>;

/** Most characters of a display name (after trimming). */
export const USER_NAME_MAX = 100;

/**
 * Body of `PATCH /api/v1/me`: the caller's display `name`, 1–{@link USER_NAME_MAX} characters once trimmed,
 * without control characters; `null` removes it. Unknown fields are rejected. The answer is the
 * {@link User}; the change is audited as `account.updated` (the new name is not recorded in the log).
 */
export const MeUpdate = z.strictObject({
  name: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'name is required: a string, or null to remove it'
          : 'a name is a string, or null to remove it',
    })
    .trim()
    .min(1, 'a name needs at least one character; send null to remove it')
    .max(USER_NAME_MAX, `a name has at most ${USER_NAME_MAX} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'a name cannot contain control characters such as line breaks')
    .nullable(),
});
export type MeUpdate = z.input<typeof MeUpdate>;

/**
 * Body of `POST /api/auth/magic-link`. `returnTo` is where to land after signing in: a path on this
 * server; anything else falls back to `/`.
 */
export const MagicLinkRequest = z.strictObject({
  email: z.email().max(254),
  returnTo: z.string().max(2048).optional(),
});
export type MagicLinkRequest = z.infer<typeof MagicLinkRequest>;

/** Answer of `POST /api/auth/magic-link` (always 202, whether or not the address has an account). */
export const MagicLinkResponse = z.object({ status: z.literal('accepted') });
export type MagicLinkResponse = z.infer<typeof MagicLinkResponse>;

/** One configured sign-in provider: its id, display name and where the browser starts signing in. */
export const AuthProvider = z.object({
  id: z.enum(['google', 'github', 'entra']),
  name: z.string(),
  loginUrl: z.string(),
});
export type AuthProvider = z.infer<typeof AuthProvider>;

/**
 * Answer of `GET /api/auth/providers`: the providers this server has configured; magic links always work.
 * `magicLinkDelivery` says where sign-in links go: `email`, or `server-log` on a development server with
 * no email provider (the link is printed in the server's terminal). A production server always says `email`.
 */
export const AuthProvidersResponse = z.object({
  providers: z.array(AuthProvider),
  magicLink: z.boolean(),
  magicLinkDelivery: z.enum(['email', 'server-log']),
});
export type AuthProvidersResponse = z.infer<typeof AuthProvidersResponse>;

/** One query parameter of a provider's redirect back: a single value of at most 4096 characters. */
const CallbackValue = z.string().max(4096);

/**
 * The query of a sign-in provider's redirect back to `GET /api/auth/oauth/{provider}/callback`: the
 * authorization response of RFC 6749 §4.1.2 (`code`, `state`) or its error (§4.1.2.1: `error`,
 * `error_description`, `error_uri`), the issuer of RFC 9207 (`iss`), and whatever else a provider adds
 * (each a single string of at most 4096 characters; a repeated parameter is refused).
 */
export const OAuthCallbackQuery = z
  .object({
    code: CallbackValue.optional().describe('The authorization code (RFC 6749 §4.1.2)'),
    state: CallbackValue.optional().describe('The state sent with the authorization request'),
    iss: CallbackValue.optional().describe('The issuer (RFC 9207)'),
    error: CallbackValue.optional().describe('The error code, when sign-in failed (RFC 6749 §4.1.2.1)'),
    error_description: CallbackValue.optional().describe('Human-readable error text'),
    error_uri: CallbackValue.optional().describe('A page about the error'),
  })
  .catchall(CallbackValue);
export type OAuthCallbackQuery = z.infer<typeof OAuthCallbackQuery>;

/**
 * Answer of `GET /api/auth/session`: whether the request carries a valid browser session cookie and, if so,
 * who is signed in (`email`, `name`: `null` when no provider gave one). Always 200, so a page can ask
 * without an error; `GET /api/v1/me` has the whole account.
 */
export const BrowserSessionResponse = z.discriminatedUnion('signedIn', [
  z.object({ signedIn: z.literal(false) }),
  z.object({
    signedIn: z.literal(true),
    user: z.object({ email: z.email(), name: z.string().nullable() }),
  }),
]);
export type BrowserSessionResponse = z.infer<typeof BrowserSessionResponse>;

/** A user code as typed: 8 letters, with or without the hyphen, any case (RFC 8628 §6.1). */
const UserCodeInput = z.string().min(8).max(16);

/** Body of `POST /api/auth/device/lookup`: the code the user typed on the device page. */
export const DeviceLookupRequest = z.strictObject({ userCode: UserCodeInput });
export type DeviceLookupRequest = z.infer<typeof DeviceLookupRequest>;

/**
 * Answer of `POST /api/auth/device/lookup`: which client asks, from where, and until when, so the user can
 * tell their own device from someone else's before approving.
 */
export const DeviceLookupResponse = z.object({
  userCode: z.string(),
  clientId: z.string(),
  scope: z.string().nullable(),
  requestIp: z.string().nullable(),
  requestUserAgent: z.string().nullable(),
  createdAt: Instant,
  expiresAt: Instant,
});
export type DeviceLookupResponse = z.infer<typeof DeviceLookupResponse>;

/** Body of `POST /api/auth/device/decision`: approve or deny the device that shows `userCode`. */
export const DeviceDecisionRequest = z.strictObject({
  userCode: UserCodeInput,
  decision: z.enum(['approve', 'deny']),
});
export type DeviceDecisionRequest = z.infer<typeof DeviceDecisionRequest>;

/** Answer of `POST /api/auth/device/decision`. */
export const DeviceDecisionResponse = z.object({ status: z.enum(['approved', 'denied']) });
export type DeviceDecisionResponse = z.infer<typeof DeviceDecisionResponse>;

/**
 * Query of `GET /api/auth/cli/authorize` and body of its `POST` (the consent): a native app's authorization
 * request (RFC 6749 §4.1.1) with PKCE (RFC 7636 §4.3) and a loopback redirect (RFC 8252 §7.3).
 * `code_challenge_method` must be `S256`.
 */
export const CliAuthorizeParams = z.strictObject({
  client_id: z.string().min(1).max(128).default('fleece-cli'),
  redirect_uri: z.string().min(1).max(512),
  response_type: z.literal('code').default('code'),
  code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256 digest (43 characters)'),
  code_challenge_method: z.string().default('S256'),
  state: z.string().min(1).max(512),
  scope: z.string().max(1024).optional(),
});
export type CliAuthorizeParams = z.infer<typeof CliAuthorizeParams>;

/** Body of `POST /api/auth/cli/authorize`: the request being answered plus the user's decision. */
export const CliConsentRequest = CliAuthorizeParams.extend({ decision: z.enum(['approve', 'deny']) });
export type CliConsentRequest = z.infer<typeof CliConsentRequest>;

/** Answer of `POST /api/auth/cli/authorize`: the loopback URL to send the browser to (code or error). */
export const CliConsentResponse = z.object({ redirectTo: z.url({ protocol: /^http$/ }) });
export type CliConsentResponse = z.infer<typeof CliConsentResponse>;

/**
 * Body of `POST /api/auth/revoke` (RFC 7009 §2.1): a refresh or access token to revoke. `token_type_hint`
 * is `refresh_token` or `access_token`; the server looks the token up as every type whatever the hint, so
 * any other hint is ignored, as RFC 7009 §2.1 allows (not refused).
 */
export const RevocationRequest = z.strictObject({
  token: z.string().min(1).max(4096),
  token_type_hint: z.string().max(128).optional(),
  client_id: z.string().min(1).max(128).optional(),
});
export type RevocationRequest = z.infer<typeof RevocationRequest>;
