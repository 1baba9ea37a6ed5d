/**
 * One stored login: the credential for one server and profile.
 *
 * - `tokenType`: `bearer` for an OAuth access token (from `fleece login`, or pasted with `--with-token`),
 *   `api_key` for an API key (`flc_…`, pasted with `--with-token`);
 * - `accessToken`: the access token or API key;
 * - `refreshToken`: the single-use refresh token that gets the next pair; `null` when there is none;
 * - `expiresAt`: when the access token expires (ISO 8601, UTC); `null` when unknown or never.
 */
export interface StoredCredential {
  server: string;
  profile: string;
  accessToken: string;
  refreshToken: string | null;
  expiresAt: string | null;
  tokenType: 'bearer' | 'api_key';
}

/** Where credentials are kept: the OS keychain, or the plaintext fallback file. */
export type StorageKind = 'keychain' | 'file';

/**
 * A place credentials are kept, one entry per (server, profile). Implementations: `KeyringStore` (the OS
 * keychain through @napi-rs/keyring) and `FileStore` (`credentials.json`, mode 0600).
 */
export interface CredentialStore {
  /** Which kind of storage this is. */
  readonly kind: StorageKind;
  /** Where it is, for people: `OS keychain (service "fleece-cli")` or the file's path. */
  readonly description: string;
  /** The entry for `server` and `profile`, or `undefined`. */
  get(server: string, profile: string): Promise<StoredCredential | undefined>;
  /** Stores `credential`, replacing the entry for its server and profile. */
  set(credential: StoredCredential): Promise<void>;
  /** Deletes the entry; `true` when there was one. */
  delete(server: string, profile: string): Promise<boolean>;
}

/** Checks that a parsed value is a {@link StoredCredential}. */
export function isStoredCredential(value: unknown): value is StoredCredential {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.server === 'string' &&
    typeof v.profile === 'string' &&
    typeof v.accessToken === 'string' &&
    v.accessToken.length > 0 &&
    (v.refreshToken === null || typeof v.refreshToken === 'string') &&
    (v.expiresAt === null || typeof v.expiresAt === 'string') &&
    (v.tokenType === 'bearer' || v.tokenType === 'api_key')
  );
}
