import { messages } from '../messages.js';
import { CliError, type ValidationError } from './errors.js';
import type { Invocation } from './invocation.js';

/**
 * Gets the go-ahead for a destructive action: given at once by `--yes`; else asked on a terminal (default
 * no); else, with no terminal to ask on (CI, a pipe), refused with `needsYes()`, a usage error naming
 * `--yes`, before anything is sent.
 * @throws {ValidationError} (exit 2) without `--yes` and without a terminal.
 * @throws {CliError} (exit 1) when the user answers no.
 */
export async function confirmDestructive(
  inv: Invocation,
  options: {
    yes: boolean | undefined;
    question: string;
    needsYes: () => ValidationError;
    /** What the refusal says when the user answers no. @default "Nothing was revoked." */
    declined?: string;
  },
): Promise<void> {
  if (options.yes) return;
  if (!inv.out.interactive) throw options.needsYes();
  const sure = await inv.ctx.prompts.confirm({ message: options.question, default: false }, inv.ctx.signal);
  if (!sure) throw new CliError(options.declined ?? messages.revokeDeclined);
}
