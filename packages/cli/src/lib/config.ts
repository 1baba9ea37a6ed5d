import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { writeFileAtomic } from './fs.js';
import { configDir, displayPath } from './paths.js';

/**
 * `config.json` in the configuration directory. It holds no secret.
 *
 * - `profiles`: per profile, the server `fleece login` last logged in to, used when neither `--server`
 *   nor `FLEECE_BASE_URL` is given;
 * - `plaintextCredentials`: the answer to "Store the credentials in plaintext?" on this machine (asked
 *   once, when the keychain cannot store them), and when it was given (ISO 8601).
 */
export interface ConfigFile {
  version: 1;
  profiles: Record<string, { server: string }>;
  plaintextCredentials?: { allowed: boolean; answeredAt: string } | undefined;
}

/** Path of `config.json`. */
export function configPath(ctx: Pick<Context, 'env' | 'homedir'>): string {
  return join(configDir(ctx), 'config.json');
}

/**
 * Reads `config.json`; an empty configuration when the file does not exist.
 * @throws {CliError} when the file is not valid JSON of the expected shape, naming it.
 */
export async function readConfig(ctx: Pick<Context, 'env' | 'homedir'>): Promise<ConfigFile> {
  const path = configPath(ctx);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, profiles: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.profiles !== 'object') {
      throw new Error('no "profiles" object');
    }
    const answer = parsed.plaintextCredentials;
    const plaintextCredentials =
      typeof answer === 'object' && answer !== null && typeof answer.allowed === 'boolean'
        ? { allowed: answer.allowed, answeredAt: String(answer.answeredAt ?? '') }
        : undefined;
    return {
      version: 1,
      profiles: parsed.profiles ?? {},
      ...(plaintextCredentials ? { plaintextCredentials } : {}),
    };
  } catch (cause) {
    throw new CliError(`The configuration file ${displayPath(path, ctx)} is not valid.`, {
      hint: 'Fix or delete it; `fleece login` writes a new one.',
      cause,
    });
  }
}

/** Records `server` as the default server of `profile`, rewriting `config.json` atomically. */
export async function setProfileServer(
  ctx: Pick<Context, 'env' | 'homedir'>,
  profile: string,
  server: string,
): Promise<void> {
  const config = await readConfig(ctx);
  config.profiles[profile] = { server };
  await writeFileAtomic(configPath(ctx), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Records the answer to the plaintext-credentials question, so it is not asked again on this machine,
 * rewriting `config.json` atomically (its other settings kept).
 *
 * @param at - when it was answered, ms since the epoch.
 */
export async function setPlaintextAnswer(
  ctx: Pick<Context, 'env' | 'homedir'>,
  allowed: boolean,
  at: number,
): Promise<void> {
  const config = await readConfig(ctx);
  config.plaintextCredentials = { allowed, answeredAt: new Date(at).toISOString() };
  await writeFileAtomic(configPath(ctx), `${JSON.stringify(config, null, 2)}\n`);
}
