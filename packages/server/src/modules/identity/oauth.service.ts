import * as client from 'openid-client';
import type { OAuthConfig } from '../../config.js';
import type { ProviderProfile } from './users.service.js';

/** The sign-in providers Fleece supports. */
export type ProviderId = 'google' | 'github' | 'entra';

/** Display names of the providers. */
export const PROVIDER_NAMES: Record<ProviderId, string> = {
  google: 'Google',
  github: 'GitHub',
  entra: 'Microsoft',
};

/** What the browser must keep between the redirect to the provider and the callback (in a signed cookie). */
export interface PendingLogin {
  provider: ProviderId;
  /** RFC 6749 §10.12 CSRF binding. */
  state: string;
  /** OIDC replay binding (OpenID Connect Core §3.1.2.1); empty for GitHub (plain OAuth 2.0). */
  nonce: string;
  /** RFC 7636 PKCE verifier whose S256 challenge went to the provider. */
  codeVerifier: string;
  /** Validated same-origin path to land on. */
  returnTo: string;
}

/** A provider answered with an error, or its answer failed validation. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    /** Stable reason for the audit record, such as `access_denied` or `state_mismatch`. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * openid-client refuses plain-http servers. The only exception: an issuer on a loopback address, which
 * is what tests run (oauth2-mock-server on 127.0.0.1); a real provider is always https.
 */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** What {@link OAuthService} is built from (its dependencies and settings). */
export interface OAuthServiceOptions {
  config: OAuthConfig;
  publicUrl: string;
}

/**
 * Sign-in through Google and Microsoft Entra ID (OpenID Connect, found by discovery) and GitHub (OAuth 2.0
 * plus its REST API), all through `openid-client`. Every provider uses the authorization code flow with
 * PKCE S256 and `state`; the OIDC providers also `nonce`. The redirect URI is exactly
 * `${FLEECE_PUBLIC_URL}/api/auth/oauth/<provider>/callback`. A provider is enabled only when its client id
 * and secret are configured.
 */
export class OAuthService {
  private readonly configs = new Map<ProviderId, Promise<client.Configuration>>();

  constructor(private readonly deps: OAuthServiceOptions) {}

  /** The configured providers, in display order. */
  enabled(): ProviderId[] {
    return (['google', 'github', 'entra'] as const).filter((p) => this.deps.config[p] !== undefined);
  }

  /** The exact redirect URI registered at `provider`. */
  redirectUri(provider: ProviderId): string {
    return `${this.deps.publicUrl}/api/auth/oauth/${provider}/callback`;
  }

  /** The provider's client configuration; discovery runs once and is retried after a failure. */
  private configuration(provider: ProviderId): Promise<client.Configuration> {
    let pending = this.configs.get(provider);
    if (!pending) {
      pending = this.load(provider).catch((error: unknown) => {
        throw new ProviderError(
          'provider_unavailable',
          `${PROVIDER_NAMES[provider]} could not be reached (${(error as Error).message}).`,
        );
      });
      pending.catch(() => this.configs.delete(provider));
      this.configs.set(provider, pending);
    }
    return pending;
  }

  private async load(provider: ProviderId): Promise<client.Configuration> {
    if (provider === 'github') {
      const gh = this.deps.config.github!;
      const server = new URL(gh.oauthUrl);
      const configuration = new client.Configuration(
        {
          issuer: gh.oauthUrl,
          authorization_endpoint: `${gh.oauthUrl}/login/oauth/authorize`,
          token_endpoint: `${gh.oauthUrl}/login/oauth/access_token`,
        },
        gh.clientId,
        gh.clientSecret,
      );
      if (isLoopbackHttp(server)) client.allowInsecureRequests(configuration);
      return configuration;
    }
    const oidc = this.deps.config[provider]!;
    const issuer = new URL(oidc.issuer);
    return client.discovery(issuer, oidc.clientId, oidc.clientSecret, undefined, {
      ...(isLoopbackHttp(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
      timeout: 10,
    });
  }

  /**
   * Starts a sign-in at `provider`: fresh `state`, `nonce` (OIDC) and PKCE verifier, and the authorization
   * URL carrying the S256 challenge.
   * @returns the URL to send the browser to and what to keep for the callback.
   * @throws {ProviderError} `provider_unavailable` when the provider's discovery document cannot be read.
   */
  async start(provider: ProviderId, returnTo: string): Promise<{ url: string; pending: PendingLogin }> {
    const configuration = await this.configuration(provider);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = provider === 'github' ? '' : client.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: this.redirectUri(provider),
      response_type: 'code',
      scope: provider === 'github' ? 'read:user user:email' : 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    };
    if (nonce) parameters.nonce = nonce;
    if (provider === 'google') parameters.prompt = 'select_account';
    const url = client.buildAuthorizationUrl(configuration, parameters).href;
    return { url, pending: { provider, state, nonce, codeVerifier, returnTo } };
  }

  /**
   * Completes a sign-in: validates the authorization response against the pending login (state, then the
   * code exchange with the PKCE verifier and, for OIDC, the ID token's signature, issuer, audience and
   * nonce), and returns who signed in.
   * @param query the callback's query string parameters.
   * @throws {ProviderError} for a provider error, a state mismatch, a failed exchange or missing claims.
   */
  async complete(pending: PendingLogin, query: URLSearchParams): Promise<ProviderProfile> {
    const provider = pending.provider;
    const providerError = query.get('error');
    if (providerError) {
      throw new ProviderError(
        providerError === 'access_denied' ? 'access_denied' : 'provider_error',
        `${PROVIDER_NAMES[provider]} answered ${providerError.slice(0, 64)}.`,
      );
    }
    const configuration = await this.configuration(provider);
    // The exact registered redirect URI plus the provider's parameters: openid-client derives the
    // redirect_uri it sends to the token endpoint from this URL without its query.
    const current = new URL(this.redirectUri(provider));
    for (const [k, v] of query) current.searchParams.append(k, v);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        ...(provider === 'github' ? {} : { expectedNonce: pending.nonce, idTokenExpected: true }),
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      // openid-client wraps the check that failed (such as 'unexpected "state" response parameter value').
      const cause = (error as { cause?: unknown }).cause;
      const reason = /"state"/.test(
        `${(error as Error).message} ${cause instanceof Error ? cause.message : ''}`,
      )
        ? 'state_mismatch'
        : 'exchange_failed';
      throw new ProviderError(reason, `${PROVIDER_NAMES[provider]} sign-in failed (${code || reason}).`);
    }
    if (provider === 'github') return this.githubProfile(tokens.access_token);
    const claims = tokens.claims();
    if (!claims) throw new ProviderError('no_id_token', 'The provider returned no ID token.');
    const email =
      typeof claims.email === 'string'
        ? claims.email
        : provider === 'entra' &&
            typeof claims.preferred_username === 'string' &&
            claims.preferred_username.includes('@')
          ? claims.preferred_username
          : undefined;
    if (!email)
      throw new ProviderError('no_email', `${PROVIDER_NAMES[provider]} did not share an email address.`);
    // Entra ID rarely sends `email_verified`; `xms_edov` says the email's domain is verified by its owner.
    const emailVerified =
      claims.email_verified === true ||
      (provider === 'entra' && (claims as { xms_edov?: unknown }).xms_edov === true);
    const subject =
      provider === 'entra' && typeof claims.oid === 'string' && typeof claims.tid === 'string'
        ? `${claims.tid}:${claims.oid}`
        : claims.sub;
    return {
      provider,
      subject,
      email,
      emailVerified,
      name: typeof claims.name === 'string' ? claims.name.slice(0, 200) : null,
    };
  }

  /** GitHub's user and its verified primary email (REST API `GET /user`, `GET /user/emails`). */
  private async githubProfile(accessToken: string): Promise<ProviderProfile> {
    const api = this.deps.config.github!.apiUrl;
    const get = async (path: string) => {
      const res = await fetch(`${api}${path}`, {
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'Fleece',
        },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok)
        throw new ProviderError('provider_api_error', `GitHub's API answered ${res.status} for ${path}.`);
      return res.json() as Promise<unknown>;
    };
    const user = (await get('/user')) as { id?: unknown; name?: unknown; login?: unknown };
    const emails = (await get('/user/emails')) as GitHubEmail[];
    if (typeof user.id !== 'number' || !Array.isArray(emails)) {
      throw new ProviderError('provider_api_error', 'GitHub answered with an unexpected shape.');
    }
    const primary = emails.find((e) => e.primary && e.verified && typeof e.email === 'string');
    if (!primary) {
      throw new ProviderError(
        'email_unverified',
        'Your GitHub account has no verified primary email address. Verify it on GitHub, or sign in with a magic link.',
      );
    }
    const name =
      typeof user.name === 'string' ? user.name : typeof user.login === 'string' ? user.login : null;
    return { provider: 'github', subject: String(user.id), email: primary.email, emailVerified: true, name };
  }
}
