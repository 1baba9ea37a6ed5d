import { type AnyColumn, and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import { ProblemError } from '../errors.js';

/**
 * Keyset pagination (docs/api.md, "Pagination"): every list is ordered newest first by a time column and a
 * unique tie-breaking key, and a page's `nextCursor` is the position of its last row. The cursor is opaque
 * to clients; its wire format is base64url of the JSON array `[ISO 8601 time, key]` (the key is a prefixed
 * id such as `agt_…`, or an integer), and the audit log's is base64url of `a1:<event id>` ({@link
 * encodeIdCursor}). Cursors already issued keep decoding: neither format may change.
 */

/** Where a page ends: the time and tie-breaking key of its last row. */
export type KeysetPosition<K extends string | number = string> = readonly [at: Date, key: K];

/** The detail of the 400 `invalid_cursor` problem most lists answer. */
const INVALID_CURSOR_DETAIL = 'The cursor is not one this API issued. Pass nextCursor unchanged.';

/**
 * The 400 `invalid_cursor` problem for a cursor this API did not issue, naming `query.cursor`.
 * @param detail - What to do instead, when a list says more than the default.
 */
export function invalidCursor(detail: string = INVALID_CURSOR_DETAIL): ProblemError {
  return new ProblemError('invalid_cursor', detail, {
    errors: [{ path: 'query.cursor', message: 'not a cursor this API issued' }],
  });
}

/**
 * The cursor of a row: base64url of `[createdAt as ISO 8601, id]`. Lists ordered by another time or key
 * pass those under these names (a conversation's `updatedAt`, a delivery's `attempt`).
 */
export function encodeCursor(row: { createdAt: Date; id: string | number }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/**
 * Reads a cursor of {@link encodeCursor} whose key passes `isKey`; `undefined` for anything else (not
 * base64url JSON, not a pair, an invalid time, a key of another kind). Never throws.
 */
export function readCursor<K extends string | number>(
  cursor: string,
  isKey: (key: unknown) => key is K,
): KeysetPosition<K> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || typeof value[0] !== 'string') return undefined;
    const at = new Date(value[0]);
    return !Number.isNaN(at.getTime()) && isKey(value[1]) ? [at, value[1]] : undefined;
  } catch {
    return undefined;
  }
}

/** A key check for {@link decodeCursor}: a prefixed id (`newId`) starting with `prefix_`. */
export function idWithPrefix(prefix: string): (key: unknown) => key is string {
  return (key): key is string => typeof key === 'string' && key.startsWith(`${prefix}_`);
}

/** A key check for {@link decodeCursor}: a safe integer (a sequence number such as a delivery's attempt). */
export function isIntegerKey(key: unknown): key is number {
  return Number.isSafeInteger(key);
}

/**
 * Reads a cursor of {@link encodeCursor}.
 * @param key - The id prefix of the list's rows (`'agt'` for agents), or a key check.
 * @throws {ProblemError} 400 `invalid_cursor` ({@link invalidCursor}) for anything this API did not issue.
 */
export function decodeCursor(cursor: string, key: string): KeysetPosition<string>;
export function decodeCursor<K extends string | number>(
  cursor: string,
  key: (key: unknown) => key is K,
): KeysetPosition<K>;
export function decodeCursor(
  cursor: string,
  key: string | ((key: unknown) => key is string | number),
): KeysetPosition<string | number> {
  const position = readCursor(cursor, typeof key === 'string' ? idWithPrefix(key) : key);
  if (!position) throw invalidCursor();
  return position;
}

/**
 * The keyset condition "after `position`" for a list ordered by {@link newestFirst}`(time, key)`:
 * `time < at OR (time = at AND key < key)`; `undefined` (no condition) on the first page.
 */
export function olderThan(
  time: AnyColumn,
  key: AnyColumn,
  position: KeysetPosition<string | number> | undefined,
): SQL | undefined {
  if (!position) return undefined;
  const [at, last] = position;
  return or(lt(time, at), and(eq(time, at), lt(key, last)));
}

/** The order of a keyset list: `time DESC, key DESC` (the key breaks ties between equal times). */
export function newestFirst(time: AnyColumn, key: AnyColumn): [SQL, SQL] {
  return [desc(time), desc(key)];
}

/**
 * One page of `rows`, which were read with `LIMIT limit + 1`: the first `limit` rows, and the cursor of the
 * last of them when the extra row shows that more follow (`null` otherwise).
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null };
}

/** The audit log's cursor of event `id`: base64url of `a1:<id>`. */
export function encodeIdCursor(id: number): string {
  return Buffer.from(`a1:${id}`).toString('base64url');
}

/**
 * Reads a cursor of {@link encodeIdCursor}: exactly the encoding of a positive event id (no padding,
 * leading zeros or other spelling of it).
 * @param detail - The problem's detail when it is not one.
 * @throws {ProblemError} 400 `invalid_cursor` for anything this API did not issue.
 */
export function decodeIdCursor(cursor: string, detail?: string): number {
  const match = /^a1:([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || Buffer.from(`a1:${match[1]}`).toString('base64url') !== cursor) throw invalidCursor(detail);
  return Number(match[1]);
}
