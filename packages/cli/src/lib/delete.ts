import { messages } from '../messages.js';
import { confirmDestructive } from './confirm.js';
import { ValidationError } from './errors.js';
import type { Invocation } from './invocation.js';
import { type NamedKind, resolveId } from './resolve.js';
import { ApiSession } from './session.js';

/**
 * Runs `fleece agents delete` or `fleece flows delete` like `fleece keys revoke`: without `--yes` and
 * without a terminal it refuses (exit 2, naming `--yes`) before anything is sent; else it resolves a name
 * to its id, asks on a terminal (default no; "no" exits 1 with nothing deleted), and deletes.
 *
 * @throws {ValidationError} exit 2 without `--yes` and without a terminal, or for an ambiguous name.
 */
export async function deleteNamed(
  inv: Invocation,
  kind: NamedKind,
  value: string,
  yes: boolean | undefined,
): Promise<void> {
  const needsYes = () =>
    new ValidationError(messages.deleteNeedsYes(kind, value), {
      hint: messages.deleteNeedsYesHint(kind, value),
    });
  if (!yes && !inv.out.interactive) throw needsYes();
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, kind, value);
  await confirmDestructive(inv, {
    yes,
    question: messages.deleteConfirm(kind, id),
    needsYes,
    declined: messages.deleteDeclined,
  });
  if (kind === 'agent') {
    await session.call('DELETE /api/v1/agents/:id', (client) =>
      client.agents.delete(id, { signal: inv.ctx.signal }),
    );
  } else {
    await session.call('DELETE /api/v1/flows/:id', (client) =>
      client.flows.delete(id, { signal: inv.ctx.signal }),
    );
  }
  inv.out.success(messages.deleted(kind, id));
}
