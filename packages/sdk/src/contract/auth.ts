import { z } from 'zod';

/**
 * Request and response bodies of the OAuth 2.0 endpoints under `/api/auth`. Field names are the
 * standards' own (snake_case). Requests are `application/x-www-form-urlencoded` as the standards say, or
 * JSON; responses are JSON.
 *
 * - `POST /api/auth/device/code`: device authorization request (RFC 8628 §3.1, §3.2);
 * - `POST /api/auth/token`: the one token endpoint, for every grant: refresh (RFC 6749 §6), authorization
 *   code + PKCE exchange (RFC 6749 §4.1.3, RFC 7636 §4.5) and the device code (RFC 8628 §3.4, §3.5);
 * - `POST /api/auth/device/token`: the same endpoint under its older name;
 * - `POST /api/auth/revoke`: token revocation (RFC 7009);
 * - `GET /.well-known/oauth-authorization-server`: the server's metadata (RFC 8414).
 */

/** The `client_id` the `fleece` CLI and the SDK send unless told otherwise. */
export const DEFAULT_CLIENT_ID = 'fleece-cli';

/** The `grant_type` of a device access token request (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** The default polling interval of the device flow, in seconds (RFC 8628 §3.2). */
export const DEVICE_POLL_INTERVAL_DEFAULT = 5;

/** Seconds added to the polling interval after each `slow_down` answer (RFC 8628 §3.5). */
export const DEVICE_SLOW_DOWN_SECONDS = 5;

const ClientId = z.string().min(1).max(128);
const Scope = z.string().min(1).max(1024);
/** A URL the user is sent to: `http:` or `https:` only, so a tool never opens `javascript:` or `file:`. */
const WebURL = z.url({ protocol: /^https?$/ });

/** Body of `POST /api/auth/device/code` (RFC 8628 §3.1). */
export const DeviceAuthorizationRequest = z.strictObject({
  client_id: ClientId,
  scope: Scope.optional(),
});
export type DeviceAuthorizationRequest = z.infer<typeof DeviceAuthorizationRequest>;

/**
 * Answer of `POST /api/auth/device/code` (RFC 8628 §3.2).
 *
 * - `device_code`: the secret the client polls with; never shown to the user;
 * - `user_code`: the short code the user types, such as `WDJB-MJHT`;
 * - `verification_uri`: where the user goes; `verification_uri_complete`: the same with the code filled in;
 * - `expires_in`: seconds until both codes expire;
 * - `interval`: minimum seconds between polls (5 when absent).
 */
export const DeviceAuthorizationResponse = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: WebURL,
  verification_uri_complete: WebURL,
  expires_in: z.number().int().positive(),
  interval: z.number().int().positive().default(DEVICE_POLL_INTERVAL_DEFAULT),
});
export type DeviceAuthorizationResponse = z.infer<typeof DeviceAuthorizationResponse>;

/** Body of a device access token request to `POST /api/auth/token` (RFC 8628 §3.4). */
export const DeviceTokenRequest = z.strictObject({
  grant_type: z.literal(DEVICE_CODE_GRANT_TYPE),
  device_code: z.string().min(1).max(512),
  client_id: ClientId,
});
export type DeviceTokenRequest = z.infer<typeof DeviceTokenRequest>;

/** Body of `POST /api/auth/token` that rotates a refresh token (RFC 6749 §6). */
export const RefreshTokenRequest = z.strictObject({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().min(1).max(1024),
  client_id: ClientId,
  scope: Scope.optional(),
});
export type RefreshTokenRequest = z.infer<typeof RefreshTokenRequest>;

/**
 * Body of `POST /api/auth/token` that exchanges an authorization code from the browser sign-in
 * (RFC 6749 §4.1.3) with its PKCE `code_verifier` (RFC 7636 §4.5).
 */
export const AuthorizationCodeTokenRequest = z.strictObject({
  grant_type: z.literal('authorization_code'),
  code: z.string().min(1).max(512),
  redirect_uri: z.url({ protocol: /^https?$/ }),
  code_verifier: z
    .string()
    .regex(/^[A-Za-z0-9\-._~]{43,128}$/, '43–128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 §4.1)'),
  client_id: ClientId,
});
export type AuthorizationCodeTokenRequest = z.infer<typeof AuthorizationCodeTokenRequest>;

/** Any body `POST /api/auth/token` accepts, told apart by `grant_type`. */
export const TokenRequest = z.discriminatedUnion('grant_type', [
  RefreshTokenRequest,
  AuthorizationCodeTokenRequest,
  DeviceTokenRequest,
]);
export type TokenRequest = z.infer<typeof TokenRequest>;

/**
 * A successful token response (RFC 6749 §5.1), from the device and token endpoints.
 *
 * - `access_token`: the short-lived bearer token for `Authorization: Bearer …`;
 * - `token_type`: `Bearer` (compare case-insensitively, RFC 6749 §7.1);
 * - `expires_in`: seconds until the access token expires;
 * - `refresh_token`: the single-use token that gets the next pair (rotated on every use);
 * - `scope`: the granted scope, when it differs from the requested one.
 */
export const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().min(1),
  expires_in: z.number().int().positive(),
  refresh_token: z.string().min(1),
  scope: z.string().optional(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/**
 * OAuth error codes the auth endpoints answer with: RFC 6749 §5.2 plus the device flow's
 * (RFC 8628 §3.5: `authorization_pending`, `slow_down`, `access_denied`, `expired_token`), and two
 * registered codes of RFC 6749 §4.1.2.1 that §5.2 has no equivalent for: `temporarily_unavailable` (429,
 * too many requests, with `Retry-After`) and `server_error` (500).
 */
export const OAuthErrorCode = z.enum([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  'temporarily_unavailable',
  'server_error',
]);
export type OAuthErrorCode = z.infer<typeof OAuthErrorCode>;

/**
 * An OAuth error response body (RFC 6749 §5.2), sent with status 400 (401 for `invalid_client`; 413 and
 * 415 for an oversized body or another media type, 429 and 500 as above), `Cache-Control: no-store` and
 * `Pragma: no-cache`.
 * The SDK surfaces `error` as `APIError.code`.
 */
export const OAuthErrorResponse = z.object({
  error: OAuthErrorCode,
  error_description: z.string().optional(),
  error_uri: z.url().optional(),
});
export type OAuthErrorResponse = z.infer<typeof OAuthErrorResponse>;

/**
 * The authorization server metadata (RFC 8414 §2) at `GET /.well-known/oauth-authorization-server`: where
 * the OAuth endpoints are and what they support. `issuer` is the server's public URL and every endpoint an
 * absolute URL under it.
 *
 * - `authorization_endpoint`: the CLI's browser sign-in (RFC 8252 loopback redirect, PKCE S256 only);
 * - `token_endpoint`: the one token endpoint, for every grant in `grant_types_supported`;
 * - `device_authorization_endpoint`: RFC 8628 §3.1; `revocation_endpoint`: RFC 7009;
 * - `token_endpoint_auth_methods_supported` and `revocation_endpoint_auth_methods_supported`: `none`, as
 *   every client is public (RFC 6749 §2.1) and identifies itself with `client_id` only.
 */
export const AuthorizationServerMetadata = z.object({
  issuer: z.url(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  device_authorization_endpoint: z.url(),
  revocation_endpoint: z.url(),
  grant_types_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
  code_challenge_methods_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
});
export type AuthorizationServerMetadata = z.infer<typeof AuthorizationServerMetadata>;
