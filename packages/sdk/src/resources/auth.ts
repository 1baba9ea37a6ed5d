import {
  DEFAULT_CLIENT_ID,
  DEVICE_CODE_GRANT_TYPE,
  DEVICE_POLL_INTERVAL_DEFAULT,
  DEVICE_SLOW_DOWN_SECONDS,
  DeviceAuthorizationResponse,
  TokenResponse,
} from '../contract/auth.js';
import type { APIPromise } from '../core/api-promise.js';
import { APIError, APIUserAbortError, DeviceCodeExpiredError } from '../core/errors.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { timers } from '../internal/timers.js';

/** Parameters of {@link Auth.deviceAuthorization}. */
export interface DeviceAuthorizationParams {
  /** The OAuth `client_id`. @default 'fleece-cli' */
  clientId?: string | undefined;
  /** Space-separated scopes to ask for; the server's default when omitted. */
  scope?: string | undefined;
}

/** The part of a device authorization response that polling needs (RFC 8628 §3.2). */
export interface DeviceCodeGrant {
  /** The device code to poll with. */
  device_code: string;
  /** Seconds after issue at which the device code expires. */
  expires_in: number;
  /** Minimum seconds between polls; 5 when absent. */
  interval?: number | undefined;
}

/** Options of {@link Auth.pollDeviceToken}. */
export interface PollDeviceTokenOptions extends RequestOptions {
  /** The OAuth `client_id`; the one the authorization was requested with. @default 'fleece-cli' */
  clientId?: string | undefined;
  /** Called before each poll with the 1-based attempt number and the current interval in seconds. */
  onPoll?: ((attempt: number, intervalSeconds: number) => void) | undefined;
}

/** Parameters of {@link Auth.refreshToken}. */
export interface RefreshTokenParams {
  /** The refresh token; it is single-use: store the new one from the response. */
  refreshToken: string;
  /** The OAuth `client_id`. @default 'fleece-cli' */
  clientId?: string | undefined;
  /** A narrower scope than the original grant, when wanted. */
  scope?: string | undefined;
}

/** Parameters of {@link Auth.exchangeAuthorizationCode}. */
export interface ExchangeAuthorizationCodeParams {
  /** The `code` from the redirect. */
  code: string;
  /** The PKCE `code_verifier` whose challenge started the sign-in (see `createPkcePair()`). */
  codeVerifier: string;
  /** The exact `redirect_uri` of the authorization request (a loopback URL for the CLI). */
  redirectUri: string;
  /** The OAuth `client_id`. @default 'fleece-cli' */
  clientId?: string | undefined;
}

/** Parameters of {@link Auth.revoke}. */
export interface RevokeTokenParams {
  /** The refresh token (preferred: it ends the whole session) or access token to revoke. */
  token: string;
  /** Which kind of token `token` is, to speed up the server's lookup (RFC 7009 §2.1). */
  tokenTypeHint?: 'refresh_token' | 'access_token' | undefined;
  /** The OAuth `client_id` the token was issued to. @default 'fleece-cli' */
  clientId?: string | undefined;
}

/**
 * The OAuth 2.0 endpoints under `/api/auth`, for tools that sign users in: the device authorization
 * grant (RFC 8628), refresh token rotation (RFC 6749 §6) and the authorization code exchange with PKCE
 * (RFC 7636). They are public: they work on a client made with `auth: false` and never send the
 * client's credential. Bodies are JSON.
 *
 * OAuth error answers (RFC 6749 §5.2) reject as `APIError`s (usually `BadRequestError`) whose `code` is
 * the OAuth `error`, such as `invalid_grant`.
 */
export class Auth extends APIResource {
  /**
   * Starts a device authorization (RFC 8628 §3.1): `POST /api/auth/device/code`. Show the user
   * `user_code` and `verification_uri` (or open `verification_uri_complete`), then call
   * {@link Auth.pollDeviceToken} with the result.
   *
   * @returns `device_code`, `user_code`, `verification_uri`, `verification_uri_complete`, `expires_in`
   *   (seconds) and `interval` (seconds, 5 when the server names none).
   * @throws {APIError} for an OAuth error such as `invalid_client`.
   * @example
   * const client = new Fleece({ auth: false });
   * const grant = await client.auth.deviceAuthorization();
   * console.log(`Open ${grant.verification_uri} and enter ${grant.user_code}`);
   * const tokens = await client.auth.pollDeviceToken(grant);
   */
  deviceAuthorization(
    params: DeviceAuthorizationParams = {},
    options?: RequestOptions,
  ): APIPromise<DeviceAuthorizationResponse> {
    return this._client.post('/api/auth/device/code', {
      ...options,
      body: { client_id: params.clientId ?? DEFAULT_CLIENT_ID, scope: params.scope },
      schema: DeviceAuthorizationResponse,
      anonymous: true,
    });
  }

  /**
   * Polls `POST /api/auth/device/token` until the user approves or denies the device (RFC 8628 §3.4–3.5)
   * and resolves with the tokens.
   *
   * Waits `interval` seconds before each poll; `authorization_pending` polls again, and `slow_down` adds
   * 5 seconds to the interval for that poll and every later one. Expiry is measured on the monotonic clock
   * (`performance.now()`), so changes to the wall clock neither cut the wait short nor extend it.
   *
   * @returns `{ access_token, token_type, expires_in, refresh_token }` (`expires_in` in seconds).
   * @throws {APIError} with `code` `access_denied` (the user refused) or `expired_token` (the server says
   *   the code expired), or any other OAuth error.
   * @throws {DeviceCodeExpiredError} (`code` `expired_token`) when `expires_in` seconds pass on this machine.
   * @throws {APIUserAbortError} when `options.signal` aborts, during a wait or a poll.
   * @example
   * const controller = new AbortController();
   * process.once('SIGINT', () => controller.abort());
   * const tokens = await client.auth.pollDeviceToken(grant, { signal: controller.signal });
   * const user = client.withOptions({ accessToken: tokens.access_token });
   */
  async pollDeviceToken(
    grant: DeviceCodeGrant,
    options: PollDeviceTokenOptions = {},
  ): Promise<TokenResponse> {
    const { clientId, onPoll, ...requestOptions } = options;
    const { signal } = requestOptions;
    const expiresAt = timers.now() + grant.expires_in * 1000;
    let intervalSeconds = Math.max(1, grant.interval ?? DEVICE_POLL_INTERVAL_DEFAULT);
    let lastRequestId: string | undefined;

    for (let attempt = 1; ; attempt++) {
      try {
        await timers.sleep(intervalSeconds * 1000, signal);
      } catch (cause) {
        throw new APIUserAbortError({ requestId: lastRequestId, cause });
      }
      if (timers.now() >= expiresAt) {
        throw new DeviceCodeExpiredError(grant.expires_in, { requestId: lastRequestId });
      }
      onPoll?.(attempt, intervalSeconds);
      try {
        return await this._client.post('/api/auth/device/token', {
          ...requestOptions,
          body: {
            grant_type: DEVICE_CODE_GRANT_TYPE,
            device_code: grant.device_code,
            client_id: clientId ?? DEFAULT_CLIENT_ID,
          },
          schema: TokenResponse,
          anonymous: true,
          // Each poll is a new request: a shared key would replay the first `authorization_pending`.
          idempotencyKey: undefined,
        });
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        lastRequestId = error.requestId;
        if (error.code === 'authorization_pending') continue;
        if (error.code === 'slow_down') {
          intervalSeconds += DEVICE_SLOW_DOWN_SECONDS;
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token (refresh token rotation,
   * RFC 6749 §6): `POST /api/auth/token` with `grant_type=refresh_token`. The old refresh token stops
   * working; reusing it revokes the session. Retries of this call send the same `Idempotency-Key`, so a
   * retry after a lost response gets the same pair instead of tripping reuse detection.
   *
   * @returns `{ access_token, token_type, expires_in, refresh_token }` (`expires_in` in seconds).
   * @throws {APIError} with `code` `invalid_grant` when the refresh token is unknown, expired or reused.
   * @example
   * const tokens = await client.auth.refreshToken({ refreshToken: stored.refresh_token });
   * await keychain.save(tokens.refresh_token);
   */
  refreshToken(params: RefreshTokenParams, options?: RequestOptions): APIPromise<TokenResponse> {
    return this._client.post('/api/auth/token', {
      ...options,
      body: {
        grant_type: 'refresh_token',
        refresh_token: params.refreshToken,
        client_id: params.clientId ?? DEFAULT_CLIENT_ID,
        scope: params.scope,
      },
      schema: TokenResponse,
      anonymous: true,
    });
  }

  /**
   * Revokes a refresh or access token (RFC 7009): `POST /api/auth/revoke`. Revoking either ends the
   * session it belongs to, on every instance at once. The server answers 200 for a token it does not know
   * (§2.2), so a token that is already revoked or expired is not an error. The response body carries
   * nothing the client needs (§2.2), so the promise resolves once the server has answered.
   *
   * @throws {APIError} with `code` `unsupported_token_type` or `invalid_request` for a malformed request;
   *   {@link APIConnectionError} when the server cannot be reached.
   * @example
   * await client.auth.revoke({ token: stored.refresh_token, tokenTypeHint: 'refresh_token' });
   */
  revoke(params: RevokeTokenParams, options?: RequestOptions): APIPromise<void> {
    return this._client.post<void>('/api/auth/revoke', {
      ...options,
      body: {
        token: params.token,
        token_type_hint: params.tokenTypeHint,
        client_id: params.clientId ?? DEFAULT_CLIENT_ID,
      },
      anonymous: true,
    });
  }

  /**
   * Exchanges the authorization code of a browser sign-in for tokens, proving possession of the PKCE
   * `code_verifier` (RFC 6749 §4.1.3, RFC 7636 §4.5): `POST /api/auth/token` with
   * `grant_type=authorization_code`.
   *
   * @returns `{ access_token, token_type, expires_in, refresh_token }` (`expires_in` in seconds).
   * @throws {APIError} with `code` `invalid_grant` for a wrong, reused or expired code or verifier.
   * @example
   * const { codeVerifier, codeChallenge } = createPkcePair();
   * // … open the sign-in page with codeChallenge, receive `code` on the loopback redirect …
   * const tokens = await client.auth.exchangeAuthorizationCode({ code, codeVerifier, redirectUri });
   */
  exchangeAuthorizationCode(
    params: ExchangeAuthorizationCodeParams,
    options?: RequestOptions,
  ): APIPromise<TokenResponse> {
    return this._client.post('/api/auth/token', {
      ...options,
      body: {
        grant_type: 'authorization_code',
        code: params.code,
        redirect_uri: params.redirectUri,
        code_verifier: params.codeVerifier,
        client_id: params.clientId ?? DEFAULT_CLIENT_ID,
      },
      schema: TokenResponse,
      anonymous: true,
    });
  }
}
