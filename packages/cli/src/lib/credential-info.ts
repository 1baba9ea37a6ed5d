import { relativeTime } from './format.js';
import { type CredentialSource, jwtExpiry } from './session.js';

/** What `auth status --json` and `auth token --json` say about a credential. Stable: scripts read it. */
export interface CredentialInfo {
  /** `oauth` (access + refresh token from `fleece login`), `access_token` (no refresh token), `api_key`. */
  type: 'oauth' | 'access_token' | 'api_key';
  /** Where it is kept: `keychain`, `file` (plaintext), or `env` (an environment variable). */
  storage: 'keychain' | 'file' | 'env';
  /** The keychain service, the file's path, or the variable's name. */
  location: string;
  /** When the access token expires (ISO 8601), or `null` when unknown or never. */
  expiresAt: string | null;
}

/** Describes the credential in use, without its secret. */
export function credentialInfo(source: CredentialSource): CredentialInfo {
  if (source.kind === 'env') {
    return source.name === 'FLEECE_API_KEY'
      ? { type: 'api_key', storage: 'env', location: source.name, expiresAt: null }
      : { type: 'access_token', storage: 'env', location: source.name, expiresAt: jwtExpiry(source.value) };
  }
  const { credential, store } = source;
  const type =
    credential.tokenType === 'api_key' ? 'api_key' : credential.refreshToken ? 'oauth' : 'access_token';
  const location =
    store.kind === 'keychain' ? 'fleece-cli' : ((store as { path?: string }).path ?? store.description);
  return { type, storage: store.kind, location, expiresAt: credential.expiresAt };
}

/** The `Token:` line of `auth status`. */
export function describeToken(info: CredentialInfo, now: number): string {
  if (info.type === 'api_key') return 'API key (its expiry is managed on the server)';
  const expiry = info.expiresAt
    ? `${Date.parse(info.expiresAt) <= now ? 'expired' : 'expires'} ${relativeTime(info.expiresAt, now)} (${info.expiresAt})`
    : 'expiry unknown';
  return info.type === 'oauth'
    ? `access token, ${expiry}; refreshed automatically`
    : `access token without a refresh token, ${expiry}`;
}

/** The `Storage:` line of `auth status`. */
export function describeStorage(info: CredentialInfo, display: (path: string) => string): string {
  if (info.storage === 'env') return `environment variable ${info.location} (overrides stored credentials)`;
  if (info.storage === 'keychain') return `OS keychain (service "${info.location}")`;
  return `plaintext file ${display(info.location)} (mode 0600)`;
}
