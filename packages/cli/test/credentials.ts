import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore } from '../src/lib/credentials/file-store.js';
import type { StoredCredential } from '../src/lib/credentials/store.js';

/** The plaintext store of a test's configuration home. */
export function fileStore(configHome: string): FileStore {
  return new FileStore(join(configHome, 'fleece'));
}

/** Writes `credentials` to the plaintext store, as an earlier login would have. */
export async function storeCredentials(
  configHome: string,
  ...credentials: StoredCredential[]
): Promise<void> {
  const store = fileStore(configHome);
  for (const credential of credentials) await store.set(credential);
}

/** The raw contents of `credentials.json`, or `undefined` when it does not exist. */
export async function readCredentialsFile(
  configHome: string,
): Promise<{ credentials: StoredCredential[] } | undefined> {
  try {
    return JSON.parse(await readFile(join(configHome, 'fleece', 'credentials.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The permission bits of a path under the configuration home. */
export async function modeOf(configHome: string, ...path: string[]): Promise<string> {
  return ((await stat(join(configHome, ...path))).mode & 0o777).toString(8);
}
