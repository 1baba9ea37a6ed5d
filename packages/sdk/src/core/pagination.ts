import type { Page } from '../contract/pagination.js';
import { APIPromise } from './api-promise.js';
import { FleeceError, PaginationLoopError } from './errors.js';

/** Fetches the page that `cursor` points at. @internal */
export type PageFetcher<Item> = (cursor: string) => Promise<CursorPage<Item>>;

/**
 * One page of a cursor-paginated list (`?limit=&cursor=` → `{ data, nextCursor }`, docs/architecture.md).
 *
 * `for await (const item of page)` walks every item of this page and of all later pages, fetching them
 * as it goes; `iterPages()` walks pages. A page may be empty and still have a `nextCursor`: iteration
 * goes on until `nextCursor` is `null`. A cursor handed out twice in one iteration (a cycle of any length)
 * ends it with {@link PaginationLoopError}.
 */
export class CursorPage<Item> implements Page<Item>, AsyncIterable<Item> {
  /** The items of this page (possibly none). */
  readonly data: Item[];
  /** The cursor of the next page, or `null` on the last page. */
  readonly nextCursor: string | null;
  /** The `X-Request-Id` of the request that returned this page. */
  readonly requestId: string;
  readonly #cursor: string | undefined;
  readonly #fetchPage: PageFetcher<Item>;

  /** @internal Built by `client.getAPIList()`. */
  constructor(
    body: Page<Item>,
    options: { cursor: string | undefined; requestId: string; fetchPage: PageFetcher<Item> },
  ) {
    this.data = body.data;
    this.nextCursor = body.nextCursor;
    this.requestId = options.requestId;
    this.#cursor = options.cursor;
    this.#fetchPage = options.fetchPage;
  }

  /**
   * Whether another page follows (`nextCursor` is not `null`).
   *
   * @example
   * if (page.hasNextPage()) page = await page.getNextPage();
   */
  hasNextPage(): boolean {
    return this.nextCursor !== null;
  }

  /**
   * Fetches the next page with the same query and `cursor=nextCursor`.
   *
   * @throws {FleeceError} on the last page; {@link PaginationLoopError} when the server handed back the
   *   very cursor it was given (following it would loop forever); any error of the request itself.
   * @example
   * const next = await page.getNextPage();
   */
  async getNextPage(): Promise<CursorPage<Item>> {
    const cursor = this.nextCursor;
    if (cursor === null) {
      throw new FleeceError(`This is the last page: nextCursor is null (request id ${this.requestId})`, {
        requestId: this.requestId,
      });
    }
    if (cursor === this.#cursor) {
      throw new PaginationLoopError(cursor, 1, { requestId: this.requestId });
    }
    return this.#fetchPage(cursor);
  }

  /**
   * Iterates over this page and every later one, fetching each when the previous one is done.
   *
   * @throws {PaginationLoopError} when a `nextCursor` repeats one already followed (or the cursor this
   *   page was fetched with) in this iteration, before fetching it again.
   * @example
   * for await (const page of firstPage.iterPages()) console.log(page.data.length, page.nextCursor);
   */
  async *iterPages(): AsyncGenerator<CursorPage<Item>, void, undefined> {
    let page: CursorPage<Item> = this;
    const seen = new Set<string>(this.#cursor === undefined ? [] : [this.#cursor]);
    let pages = 1;
    yield page;
    while (page.nextCursor !== null) {
      const cursor = page.nextCursor;
      if (seen.has(cursor)) throw new PaginationLoopError(cursor, pages, { requestId: page.requestId });
      seen.add(cursor);
      page = await page.getNextPage();
      pages++;
      yield page;
    }
  }

  /**
   * Iterates over every item of this page and of all later pages.
   *
   * @example
   * for await (const item of page) console.log(item);
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/**
 * What every `list()` method returns: a promise of the first {@link CursorPage} that is also async
 * iterable over all items of all pages.
 *
 * @example
 * for await (const agent of client.agents.list({ limit: 50 })) console.log(agent.id);
 * const firstPage = await client.agents.list();
 */
export class PagePromise<Item> extends APIPromise<CursorPage<Item>> implements AsyncIterable<Item> {
  /**
   * Iterates over every item of every page, fetching pages as needed.
   *
   * @example
   * for await (const item of client.things.list()) console.log(item);
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    const page = await this;
    yield* page;
  }

  /**
   * Iterates over the pages, starting with the first.
   *
   * @example
   * for await (const page of client.things.list().iterPages()) console.log(page.data);
   */
  async *iterPages(): AsyncGenerator<CursorPage<Item>, void, undefined> {
    const page = await this;
    yield* page.iterPages();
  }
}
