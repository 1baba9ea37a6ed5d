import { CliError } from '../errors.js';
import { type CredentialStore, isStoredCredential, type StoredCredential } from './store.js';

/** The keychain service name every entry is stored under. */
export const KEYRING_SERVICE = 'fleece-cli';

/**
 * The few keychain operations the CLI needs, by (service, account). The real one wraps
 * `@napi-rs/keyring`'s `AsyncEntry` (see {@link napiKeyring}); tests pass an in-memory fake only where a
 * working keychain must be simulated.
 */
export interface KeyringBackend {
  /** The secret, or `null` when there is none. */
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  /** `true` when something was deleted. */
  deletePassword(service: string, account: string): Promise<boolean>;
}

/** The OS keychain through `@napi-rs/keyring` (macOS Keychain, Windows Credential Manager, Secret Service). */
export async function napiKeyring(): Promise<KeyringBackend> {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  return {
    getPassword: (service, account) => new AsyncEntry(service, account).getPassword(),
    setPassword: (service, account, password) => new AsyncEntry(service, account).setPassword(password),
    deletePassword: (service, account) => new AsyncEntry(service, account).deletePassword(),
  };
}

/** The keychain account of an entry: `<profile>@<server>`, one per server and profile. */
export function keyringAccount(server: string, profile: string): string {
  return `${profile}@${server}`;
}

/** Why the keychain cannot be used, from the error it threw (one line). */
export function keyringFailureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || 'unknown error';
}

/**
 * Credentials in the OS keychain: service {@link KEYRING_SERVICE}, account `<profile>@<server>`, the
 * secret being the JSON of a {@link StoredCredential}.
 */
export class KeyringStore implements CredentialStore {
  readonly kind = 'keychain';
  readonly description = `OS keychain (service "${KEYRING_SERVICE}")`;
  readonly #backend: KeyringBackend;

  constructor(backend: KeyringBackend) {
    this.#backend = backend;
  }

  /**
   * Checks that the keychain can store a secret, by writing and deleting a probe entry (reads alone
   * succeed on a machine with no keychain service). Resolves with the reason when it cannot.
   */
  async probe(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await this.#backend.setPassword(KEYRING_SERVICE, 'probe', 'probe');
      await this.#backend.deletePassword(KEYRING_SERVICE, 'probe');
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: keyringFailureReason(error) };
    }
  }

  async get(server: string, profile: string): Promise<StoredCredential | undefined> {
    const secret = await this.#backend.getPassword(KEYRING_SERVICE, keyringAccount(server, profile));
    if (secret === null) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      parsed = undefined;
    }
    if (!isStoredCredential(parsed)) {
      throw new CliError(`The keychain entry for ${profile}@${server} is not a Fleece credential.`, {
        hint: 'Run `fleece logout` to delete it, then `fleece login`.',
      });
    }
    return parsed;
  }

  async set(credential: StoredCredential): Promise<void> {
    await this.#backend.setPassword(
      KEYRING_SERVICE,
      keyringAccount(credential.server, credential.profile),
      JSON.stringify(credential),
    );
  }

  async delete(server: string, profile: string): Promise<boolean> {
    return this.#backend.deletePassword(KEYRING_SERVICE, keyringAccount(server, profile));
  }
}
