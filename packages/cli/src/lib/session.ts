import {
  APIError,
  type APIPromise,
  AuthenticationError,
  type Fleece,
  NotFleeceServerError,
} from '@fleece/sdk';
import { messages, selectFlags, where } from '../messages.js';
import type { FoundCredential, StoredCredential } from './credentials/index.js';
import { credentialFromEnv } from './env.js';
import { NotAuthenticatedError } from './errors.js';
import type { Invocation } from './invocation.js';
import { withLock } from './lock.js';
import { configDir } from './paths.js';
import { anonymousClient, createClient, credentialRefusal, notFleeceServer, track } from './sdk.js';

/** Refresh an access token when it has less than this left (ms), so it cannot expire mid-request. */
export const REFRESH_MARGIN_MS = 60_000;

/** Where the credential in use comes from. */
export type CredentialSource =
  | { kind: 'env'; name: 'FLEECE_API_KEY' | 'FLEECE_TOKEN'; value: string }
  | ({ kind: 'store' } & FoundCredential);

/** Whether a stored OAuth credential should be refreshed before use. */
export function needsRefresh(credential: StoredCredential, now: number): boolean {
  if (credential.tokenType !== 'bearer' || !credential.refreshToken || !credential.expiresAt) return false;
  return Date.parse(credential.expiresAt) - now < REFRESH_MARGIN_MS;
}

/** An access token's expiry from its JWT `exp` claim, without verifying it; `null` when it has none. */
export function jwtExpiry(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload || token.split('.').length !== 3) return null;
  try {
    const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null;
  } catch {
    return null;
  }
}

/**
 * Finds the credential for the invocation's server and profile: `FLEECE_API_KEY` or `FLEECE_TOKEN` when
 * set (they override stored credentials), else the stored one. `undefined` when there is none.
 */
export async function findCredential(inv: Invocation): Promise<CredentialSource | undefined> {
  const env = credentialFromEnv(inv.ctx);
  if (env) return { kind: 'env', ...env };
  const { url } = await inv.server();
  const found = await (await inv.credentials()).find(url, inv.profile);
  return found ? { kind: 'store', ...found } : undefined;
}

/**
 * An authenticated connection to the server for one command. It refreshes a stored OAuth access token
 * transparently: before a call when it expires within {@link REFRESH_MARGIN_MS}, and once after a 401.
 *
 * Refreshing is safe across processes: under a lock per server and profile, the store is re-read; if
 * another process has already rotated the tokens, its result is used, and only a refresh token that the
 * server refuses (`invalid_grant`) while still current means the user is logged out.
 */
export class ApiSession {
  readonly inv: Invocation;
  readonly server: string;
  #source: CredentialSource;
  #client: Fleece | undefined;

  constructor(inv: Invocation, server: string, source: CredentialSource) {
    this.inv = inv;
    this.server = server;
    this.#source = source;
  }

  /**
   * The session for the invocation's server and profile.
   * @throws {NotAuthenticatedError} (exit 3) when there is no credential.
   */
  static async open(inv: Invocation): Promise<ApiSession> {
    const { url, source } = await inv.server();
    const found = await findCredential(inv);
    // An address ending in /api is a wrong server, whatever is stored for it: say so, not "log in there".
    if (!found && NotFleeceServerError.isApiPath(url)) throw notFleeceServer(url, 'api_path');
    if (!found) {
      throw new NotAuthenticatedError(messages.notLoggedIn(where(url, inv.profile)), {
        hint: messages.notLoggedInHint(selectFlags(url, inv.profile, source !== 'flag')),
      });
    }
    return new ApiSession(inv, url, found);
  }

  /** Where the credential in use comes from (after any refresh). */
  get source(): CredentialSource {
    return this.#source;
  }

  get #flags(): string {
    return selectFlags(this.server, this.inv.profile, this.inv.serverSourceIsDefault);
  }

  /** A client with a fresh credential. */
  async client(): Promise<Fleece> {
    const source = this.#source;
    if (source.kind === 'store' && needsRefresh(source.credential, this.inv.ctx.now())) {
      await this.#refresh(false);
    }
    if (!this.#client) {
      const current = this.#source;
      const options =
        current.kind === 'env'
          ? current.name === 'FLEECE_API_KEY'
            ? { apiKey: current.value }
            : { accessToken: current.value }
          : current.credential.tokenType === 'api_key'
            ? { apiKey: current.credential.accessToken }
            : { accessToken: current.credential.accessToken };
      this.#client = createClient(this.inv, this.server, options);
    }
    return this.#client;
  }

  /**
   * Runs one SDK call (logged under `--verbose`). A 401 on a refreshable stored credential refreshes it
   * and retries the call once.
   *
   * @throws {NotAuthenticatedError} (exit 3) when the credential is refused and cannot be refreshed.
   */
  async call<T>(label: string, fn: (client: Fleece) => APIPromise<T>): Promise<T> {
    try {
      return await track(this.inv.out, label, fn(await this.client()));
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      const source = this.#source;
      if (source.kind === 'store' && source.credential.refreshToken) {
        this.inv.out.debug('The access token was refused: refreshing it.');
        await this.#refresh(true);
        try {
          return await track(this.inv.out, label, fn(await this.client()));
        } catch (retryError) {
          if (retryError instanceof AuthenticationError) throw this.#refused(retryError);
          throw retryError;
        }
      }
      throw this.#refused(error);
    }
  }

  /**
   * Handles a 401 in the middle of a long-lived call (a followed stream the server ended because its
   * credential stopped being valid): refreshes a refreshable stored credential, so the caller can resume
   * with a new {@link client}.
   *
   * @param refresh `false` when the credential was just refreshed and was still refused: no new attempt.
   * @throws {NotAuthenticatedError} (exit 3) when the credential cannot be refreshed (an API key, an
   *   environment token, a revoked session) or `refresh` is `false`.
   */
  async reauthenticate(error: AuthenticationError, refresh = true): Promise<void> {
    const source = this.#source;
    if (refresh && source.kind === 'store' && source.credential.refreshToken) {
      this.inv.out.debug('The access token was refused: refreshing it.');
      await this.#refresh(true);
      return;
    }
    throw this.#refused(error);
  }

  /**
   * The exit-3 error for a refused credential. The server's problem code survives: `api_key_expired`
   * says expired, `invalid_api_key` revoked, unknown or mistyped (the server does not tell them apart),
   * `api_key_disabled` disabled by a plan change. The hint fits the source: for `FLEECE_API_KEY` /
   * `FLEECE_TOKEN`, fix the variable (never "log in": the variable would still win); for a stored login,
   * log in again with the `--server` / `--profile` in use.
   */
  #refused(error: AuthenticationError): NotAuthenticatedError {
    const source = this.#source;
    const { message, hint } = credentialRefusal(error, {
      at: where(this.server, this.inv.profile),
      env: source.kind === 'env' ? source.name : undefined,
      storedApiKey: source.kind === 'store' && source.credential.tokenType === 'api_key',
      flags: this.#flags,
    });
    return new NotAuthenticatedError(message, { hint, requestId: error.requestId, cause: error });
  }

  /**
   * Refreshes the stored credential under the cross-process lock. `force`: the server refused the
   * current access token, so refresh even if it does not look expired.
   */
  async #refresh(force: boolean): Promise<void> {
    const source = this.#source;
    if (source.kind !== 'store') return;
    const { inv } = this;
    const at = where(this.server, inv.profile);
    const seen = source.credential;
    const credentials = await inv.credentials();
    const next = await withLock(configDir(inv.ctx), `${inv.profile}@${this.server}`, async () => {
      const current = await credentials.find(this.server, inv.profile);
      if (!current) {
        throw new NotAuthenticatedError(messages.loggedOutElsewhere(at), {
          hint: messages.loginAgainHint(this.#flags),
        });
      }
      const now = inv.ctx.now();
      const changed = current.credential.accessToken !== seen.accessToken;
      if (changed && !needsRefresh(current.credential, now)) {
        inv.out.debug('Another fleece process refreshed the credentials: using its tokens.');
        return current;
      }
      if (!changed && !force && !needsRefresh(current.credential, now)) return current;
      const refreshToken = current.credential.refreshToken;
      if (!refreshToken) {
        throw new NotAuthenticatedError(messages.tokenExpiredNoRefresh(at), {
          hint: messages.loginAgainHint(this.#flags),
        });
      }
      let tokens: Awaited<ReturnType<Fleece['auth']['refreshToken']>>;
      try {
        tokens = await track(
          inv.out,
          'POST /api/auth/token (refresh)',
          anonymousClient(inv, this.server).auth.refreshToken({ refreshToken }, { signal: inv.ctx.signal }),
        );
      } catch (error) {
        if (error instanceof APIError && error.code === 'invalid_grant') {
          throw new NotAuthenticatedError(messages.sessionEnded(at), {
            hint: messages.loginAgainHint(this.#flags),
            requestId: error.requestId,
            cause: error,
          });
        }
        throw error;
      }
      const refreshed: StoredCredential = {
        ...current.credential,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: new Date(inv.ctx.now() + tokens.expires_in * 1000).toISOString(),
        tokenType: 'bearer',
      };
      await current.store.set(refreshed);
      return { credential: refreshed, store: current.store };
    });
    this.#source = { kind: 'store', ...next };
    this.#client = undefined;
  }
}
