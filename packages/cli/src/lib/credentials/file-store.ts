import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import { type CredentialStore, isStoredCredential, type StoredCredential } from './store.js';

/** The shape of `credentials.json`. */
interface CredentialsFile {
  version: 1;
  credentials: StoredCredential[];
}

/**
 * The plaintext fallback for machines without a usable keychain (headless Linux, containers):
 * `credentials.json` in the configuration directory, written atomically with mode 0600 in a directory
 * with mode 0700. Anyone who can read the file (root, a backup) can use the credentials, which is why
 * the CLI says so before writing it and refuses it in CI or without a terminal unless
 * `--insecure-storage` is given.
 */
export class FileStore implements CredentialStore {
  readonly kind = 'file';
  /** The file's absolute path. */
  readonly path: string;
  readonly description: string;

  /**
   * @param dir - the configuration directory.
   * @param display - how to show the path to people (with `~`).
   */
  constructor(dir: string, display: (path: string) => string = (p) => p) {
    this.path = join(dir, 'credentials.json');
    this.description = display(this.path);
  }

  async #read(): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, credentials: [] };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CredentialsFile>;
      if (!Array.isArray(parsed.credentials) || !parsed.credentials.every(isStoredCredential)) {
        throw new Error('unexpected shape');
      }
      return { version: 1, credentials: parsed.credentials };
    } catch (cause) {
      throw new CliError(`The credentials file ${this.description} is not valid.`, {
        hint: 'Delete it and run `fleece login` again.',
        cause,
      });
    }
  }

  async #write(file: CredentialsFile): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }

  async get(server: string, profile: string): Promise<StoredCredential | undefined> {
    const file = await this.#read();
    return file.credentials.find((c) => c.server === server && c.profile === profile);
  }

  async set(credential: StoredCredential): Promise<void> {
    const file = await this.#read();
    const others = file.credentials.filter(
      (c) => !(c.server === credential.server && c.profile === credential.profile),
    );
    await this.#write({ version: 1, credentials: [...others, credential] });
  }

  async delete(server: string, profile: string): Promise<boolean> {
    const file = await this.#read();
    const kept = file.credentials.filter((c) => !(c.server === server && c.profile === profile));
    if (kept.length === file.credentials.length) return false;
    await this.#write({ version: 1, credentials: kept });
    return true;
  }
}
