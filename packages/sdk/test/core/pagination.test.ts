import fc from 'fast-check';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import {
  CursorPage,
  FleeceError,
  PagePromise,
  PaginationLoopError,
  ResponseValidationError,
} from '../../src/index.js';
import { mswClient } from '../helpers.js';

const server = useMsw();

const Thing = z.object({ id: z.string() });

/** Serves pages keyed by the `cursor` query parameter ('' for the first), recording each query. */
function pages(byCursor: Record<string, { data: unknown[]; nextCursor: string | null }>) {
  const queries: string[] = [];
  server.use(
    http.get(`${BASE_URL}/api/v1/things`, ({ request }) => {
      const url = new URL(request.url);
      queries.push(url.search);
      const page = byCursor[url.searchParams.get('cursor') ?? ''];
      return page ? HttpResponse.json(page) : HttpResponse.json({ error: 'no such page' }, { status: 500 });
    }),
  );
  return queries;
}

const list = (query: Record<string, string | number> = {}) =>
  mswClient({ maxRetries: 0 }).getAPIList('/api/v1/things', Thing, { query });

describe('cursor pagination', () => {
  it('iterates every item across pages, going on past empty pages until nextCursor is null', async () => {
    const queries = pages({
      '': { data: [{ id: 'a' }, { id: 'b' }], nextCursor: 'c1' },
      c1: { data: [], nextCursor: 'c2' },
      c2: { data: [], nextCursor: 'c3' },
      c3: { data: [{ id: 'c' }], nextCursor: null },
    });
    const ids: string[] = [];
    for await (const thing of list({ limit: 2 })) ids.push(thing.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(queries).toEqual(['?limit=2', '?limit=2&cursor=c1', '?limit=2&cursor=c2', '?limit=2&cursor=c3']);
  });

  it('walks pages with iterPages()', async () => {
    pages({
      '': { data: [{ id: 'a' }], nextCursor: 'c1' },
      c1: { data: [], nextCursor: null },
    });
    const seen: Array<[number, string | null]> = [];
    for await (const page of list().iterPages()) seen.push([page.data.length, page.nextCursor]);
    expect(seen).toEqual([
      [1, 'c1'],
      [0, null],
    ]);
  });

  it('awaits to the first page, with hasNextPage() and getNextPage()', async () => {
    pages({
      '': { data: [{ id: 'a' }], nextCursor: 'c1' },
      c1: { data: [{ id: 'b' }], nextCursor: null },
    });
    const promise = list();
    expect(promise).toBeInstanceOf(PagePromise);
    const first = await promise;
    expect(first).toBeInstanceOf(CursorPage);
    expect(first.data).toEqual([{ id: 'a' }]);
    expect(first.hasNextPage()).toBe(true);
    const second = await first.getNextPage();
    expect(second.data).toEqual([{ id: 'b' }]);
    expect(second.hasNextPage()).toBe(false);
    expect(second.requestId).toMatch(/^req_[0-9a-f]{24}$/);
    await expect(second.getNextPage()).rejects.toThrow(
      `This is the last page: nextCursor is null (request id ${second.requestId})`,
    );
  });

  it('stops fetching when the loop breaks', async () => {
    const queries = pages({
      '': { data: [{ id: 'a' }, { id: 'b' }], nextCursor: 'c1' },
      c1: { data: [{ id: 'c' }], nextCursor: null },
    });
    for await (const thing of list()) {
      if (thing.id === 'a') break;
    }
    expect(queries).toEqual(['']);
  });

  it('refuses to follow a cursor that points back at the same page', async () => {
    pages({
      '': { data: [], nextCursor: 'c1' },
      c1: { data: [], nextCursor: 'c1' },
    });
    const iterate = async () => {
      for await (const _ of list()) {
        // drain
      }
    };
    const error = await iterate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaginationLoopError);
    expect(error).toBeInstanceOf(FleeceError);
    expect((error as PaginationLoopError).cursor).toBe('c1');
    expect((error as Error).message).toMatch(
      /^The list handed back cursor "c1" a second time after 2 page\(s\); stopping instead of looping \(request id req_[0-9a-f]{24}\)$/,
    );
    const second = await (await list()).getNextPage();
    await expect(second.getNextPage()).rejects.toBeInstanceOf(PaginationLoopError);
  });

  it('regression: a cycle of any length ends the iteration with PaginationLoopError, each page fetched once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.boolean(),
        async (cursors, back, startWithCursor) => {
          server.resetHandlers();
          const target = cursors[back % cursors.length] as string;
          // Pages keyed by the cursor that fetches them; the last one points back into the chain.
          const keys = startWithCursor ? cursors : ['', ...cursors];
          const byCursor: Record<string, { data: unknown[]; nextCursor: string | null }> = {};
          keys.forEach((key, i) => {
            byCursor[key] = { data: [{ id: `item-${i}` }], nextCursor: keys[i + 1] ?? target };
          });
          const queries = pages(byCursor);
          const ids: string[] = [];
          const iterate = async () => {
            const query: Record<string, string> = startWithCursor ? { cursor: cursors[0] as string } : {};
            for await (const thing of list(query)) ids.push(thing.id);
          };
          const error = await iterate().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(PaginationLoopError);
          expect((error as PaginationLoopError).cursor).toBe(target);
          expect((error as PaginationLoopError).pages).toBe(keys.length);
          expect(ids).toEqual(keys.map((_, i) => `item-${i}`));
          expect(queries).toEqual(keys.map((key) => (key === '' ? '' : `?cursor=${key}`)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('validates every item and names the field path', async () => {
    pages({ '': { data: [{ id: 'a' }, { id: 7 }], nextCursor: null } });
    const error = await list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('data[1].id');
  });
});
