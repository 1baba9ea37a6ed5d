import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { configDir, displayPath } from '../paths.js';
import { FileStore } from './file-store.js';
import { KeyringStore } from './keyring-store.js';
import type { CredentialStore, StoredCredential } from './store.js';

/** A stored credential and the store it was found in. */
export interface FoundCredential {
  credential: StoredCredential;
  store: CredentialStore;
}

/**
 * The two credential stores, looked up in order: the OS keychain first, then the plaintext file. A
 * keychain that cannot be read (no Secret Service on headless Linux) is skipped, so the file is found.
 */
export class Credentials {
  readonly keyring: KeyringStore;
  readonly file: FileStore;

  constructor(keyring: KeyringStore, file: FileStore) {
    this.keyring = keyring;
    this.file = file;
  }

  /** Opens the stores of the configuration directory; the keychain binding is loaded here. */
  static async open(ctx: Context): Promise<Credentials> {
    const dir = configDir(ctx);
    const backend = await ctx.keyring().catch((error: unknown) => ({
      // A keychain binding that fails to load behaves as an unavailable keychain.
      getPassword: async () => {
        throw error;
      },
      setPassword: async () => {
        throw error;
      },
      deletePassword: async () => {
        throw error;
      },
    }));
    return new Credentials(new KeyringStore(backend), new FileStore(dir, (p) => displayPath(p, ctx)));
  }

  /**
   * The credential of `server` and `profile`: from the keychain when it has one, else from the file.
   * @throws {CliError} when an entry exists but cannot be read (corrupt file or keychain entry).
   */
  async find(server: string, profile: string): Promise<FoundCredential | undefined> {
    let fromKeyring: StoredCredential | undefined;
    try {
      fromKeyring = await this.keyring.get(server, profile);
    } catch (error) {
      if (error instanceof CliError) throw error;
      fromKeyring = undefined;
    }
    if (fromKeyring) return { credential: fromKeyring, store: this.keyring };
    const fromFile = await this.file.get(server, profile);
    return fromFile ? { credential: fromFile, store: this.file } : undefined;
  }

  /**
   * Saves `credential` in `store`. Saving to the keychain also deletes a plaintext copy of the same
   * entry from the file, so a credential never lingers in plaintext once the keychain holds it.
   */
  async save(store: CredentialStore, credential: StoredCredential): Promise<void> {
    await store.set(credential);
    if (store.kind === 'keychain') await this.file.delete(credential.server, credential.profile);
  }

  /** Deletes the entry from both stores; `true` when either had it. */
  async remove(server: string, profile: string): Promise<boolean> {
    let removed = false;
    try {
      removed = await this.keyring.delete(server, profile);
    } catch {
      removed = false;
    }
    return (await this.file.delete(server, profile)) || removed;
  }

  /** Whether the keychain can store secrets here; the reason when it cannot. */
  probeKeyring(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.keyring.probe();
  }
}

/** The store interface and entry shape, re-exported for commands. */
export type { CredentialStore, StoredCredential };
