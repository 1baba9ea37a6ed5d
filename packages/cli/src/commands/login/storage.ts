import type { CredentialStore, Credentials } from '../../lib/credentials/index.js';
import { CliError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { messages } from '../../messages.js';

/**
 * Chooses where a new login will be stored, before any credential exists, so the user hears about a
 * plaintext fallback before it is written:
 *
 * - the OS keychain when it can store a secret (checked by writing and deleting a probe entry);
 * - else the plaintext file: with `--insecure-storage` after a notice; on a terminal after asking;
 *   without a terminal or in CI, refused (exit 2, naming `--insecure-storage`).
 */
export async function chooseStore(
  inv: Invocation,
  credentials: Credentials,
  insecureStorage: boolean,
): Promise<CredentialStore> {
  const probe = await credentials.probeKeyring();
  if (probe.ok) return credentials.keyring;
  const { out, ctx } = inv;
  const path = credentials.file.description;
  out.warn(messages.keychainUnavailable(probe.reason));
  if (insecureStorage) {
    out.warn(messages.plaintextNotice(path));
    return credentials.file;
  }
  if (!out.interactive) {
    throw new ValidationError(messages.plaintextRefused, { hint: messages.plaintextRefusedCiHint });
  }
  const allowed = await ctx.prompts.confirm(
    { message: messages.plaintextConfirm(path), default: true },
    ctx.signal,
  );
  if (!allowed) throw new CliError(messages.plaintextRefused, { hint: messages.plaintextDeclinedHint });
  return credentials.file;
}
