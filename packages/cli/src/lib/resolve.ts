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
  const [id] = await resolveIds(inv, session, kind, [value]);
  return id!;
}

/**
 * The ids of the `kind`s that `values` name, in order, as {@link resolveId} finds each, paging through the
 * list endpoint once at most (only when some value is not an id).
 *
 * @throws {CliError} exit 6 for the first name that no `kind` has.
 * @throws {ValidationError} exit 2 for the first name that several have, listing their ids.
 */
export async function resolveIds(
  inv: Invocation,
  session: ApiSession,
  kind: NamedKind,
  values: readonly string[],
): Promise<string[]> {
  const names = new Set(values.filter((value) => !looksLikeId(kind, value)));
  if (names.size === 0) return [...values];
  const { list } = KINDS[kind];
  const found = new Map<string, string[]>();
  let cursor: string | undefined;
  do {
    const query = { limit: 100, ...(cursor ? { cursor } : {}) };
    const options = { signal: inv.ctx.signal };
    const page: { data: { id: string; name: string }[]; nextCursor: string | null } =
      list === 'agents'
        ? await session.call('GET /api/v1/agents', (client) => client.agents.list(query, options))
        : await session.call('GET /api/v1/flows', (client) => client.flows.list(query, options));
    for (const item of page.data) {
      if (names.has(item.name)) found.set(item.name, [...(found.get(item.name) ?? []), item.id]);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return values.map((value) => (names.has(value) ? oneId(kind, value, found.get(value) ?? []) : value));
}

/** The one id a name matched, or the error for none (exit 6) or several (exit 2). */
function oneId(kind: NamedKind, value: string, ids: string[]): string {
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
