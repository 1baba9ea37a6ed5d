import { configPath, readConfig, setPlaintextAnswer } from '../../lib/config.js';
import type { CredentialStore, Credentials } from '../../lib/credentials/index.js';
import { CliError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { displayPath } from '../../lib/paths.js';
import { messages } from '../../messages.js';

/**
 * Chooses where a new login will be stored, before any credential exists, so the user hears about a
 * plaintext fallback before it is written:
 *
 * - the OS keychain when it can store a secret (checked by writing and deleting a probe entry);
 * - else the plaintext file: with `--insecure-storage` after a notice; else as answered before on this
 *   machine (`config.json`: a yes stores it after the notice, a no refuses, exit 1, without asking
 *   again); else on a terminal after asking once (default No; the answer is recorded); without a
 *   terminal or in CI, refused (exit 2, naming `--insecure-storage`).
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
  const answered = (await readConfig(ctx)).plaintextCredentials;
  const config = displayPath(configPath(ctx), ctx);
  if (answered) {
    if (!answered.allowed) {
      throw new CliError(messages.plaintextRefusedBefore(answered.answeredAt.slice(0, 10)), {
        hint: messages.plaintextRefusedBeforeHint(config),
      });
    }
    out.warn(messages.plaintextNotice(path));
    return credentials.file;
  }
  if (!out.interactive) {
    throw new ValidationError(messages.plaintextRefused, { hint: messages.plaintextRefusedCiHint });
  }
  const allowed = await ctx.prompts.confirm(
    { message: messages.plaintextConfirm(path), default: false },
    ctx.signal,
  );
  // Asked once per machine: the answer holds for later logins (config.json says how to change it).
  await setPlaintextAnswer(ctx, allowed, ctx.now());
  if (!allowed) {
    throw new CliError(messages.plaintextRefused, { hint: messages.plaintextDeclinedHint(config) });
  }
  return credentials.file;
}
