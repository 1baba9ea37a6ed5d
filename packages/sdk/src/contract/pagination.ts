import { z } from 'zod';

/** Default and maximum page sizes for every list endpoint (`?limit=`). */
export const PAGE_LIMIT_DEFAULT = 20;
export const PAGE_LIMIT_MAX = 100;

/**
 * Query parameters accepted by every list endpoint: `limit` (1–100, default 20) and an opaque `cursor`
 * taken from the previous page's `nextCursor`.
 */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  cursor: z.string().min(1).max(512).optional(),
});
export type PageQuery = z.infer<typeof PageQuery>;

/**
 * Builds the schema of one page of a list: `{ data: T[], nextCursor: string | null }`.
 * `nextCursor` is `null` on the last page; a page may hold fewer than `limit` items (even none) and still
 * carry a cursor.
 */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: z.string().nullable(),
  });
}

/** The shape of one page of a list of `T`. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
