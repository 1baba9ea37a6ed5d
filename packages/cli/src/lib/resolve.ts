import { messages } from '../messages.js';
import { CliError, ValidationError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { Invocation } from './invocation.js';
import type { ApiSession } from './session.js';

/** The resources that commands accept by name as well as by id, with their id prefix. */
const KINDS = {
  agent: { prefix: 'agt_', list: 'agents' },
  flow: { prefix: 'flw_', list: 'flows' },
} as const;

/** A resource that `fleece` resolves from a name: `agent` (`agt_…`) or `flow` (`flw_…`). */
export type NamedKind = keyof typeof KINDS;

/** Whether `value` has the shape of an id of `kind` (its prefix), so it is used as is. */
export function looksLikeId(kind: NamedKind, value: string): boolean {
  return value.startsWith(KINDS[kind].prefix) && value.length > KINDS[kind].prefix.length;
}

/**
 * The id of the `kind` that `value` names: `value` itself when it is an id (`agt_…`, `flw_…`), else the
 * one whose name is exactly `value`, found by paging through the list endpoint (`GET /api/v1/agents` or
 * `/flows`, 100 a page).
 *
 * @throws {CliError} exit 6 when no `kind` has that name.
 * @throws {ValidationError} exit 2 when several have it, listing their ids (pass one instead).
 */
export async function resolveId(
  inv: Invocation,
  session: ApiSession,
  kind: NamedKind,
  value: string,
): Promise<string> {
  if (looksLikeId(kind, value)) return value;
  const { list } = KINDS[kind];
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const query = { limit: 100, ...(cursor ? { cursor } : {}) };
    const options = { signal: inv.ctx.signal };
    const page: { data: { id: string; name: string }[]; nextCursor: string | null } =
      list === 'agents'
        ? await session.call('GET /api/v1/agents', (client) => client.agents.list(query, options))
        : await session.call('GET /api/v1/flows', (client) => client.flows.list(query, options));
    for (const item of page.data) if (item.name === value) ids.push(item.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) {
    throw new CliError(messages.noneNamed(kind, value), {
      exitCode: ExitCode.NOT_FOUND,
      hint: messages.noneNamedHint(kind),
    });
  }
  throw new ValidationError(messages.ambiguousName(kind, value, ids), {
    hint: messages.ambiguousNameHint(kind),
  });
}
