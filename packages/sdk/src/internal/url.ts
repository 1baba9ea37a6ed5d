/** Query values the SDK serialises; `undefined` and `null` members are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/** A path of characters that need no escaping in a URL path (RFC 3986 `pchar` and `/`). */
const SAFE_PATH = /^\/?[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
/** A `.` or `..` segment, which `URL` would resolve. */
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/**
 * Joins a base URL (which may carry a path prefix, such as `https://example.com/fleece`) and an absolute
 * API path, then appends the query string.
 */
export function buildURL(baseURL: string, path: string, query?: Record<string, QueryValue>): string {
  const joined = baseURL.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
  // The common case (a path of URL-safe characters without dot segments) needs no URL parsing, which is a
  // measurable part of a call's own cost (bench/sdk.bench.ts); anything else is normalised by `URL`.
  if (SAFE_PATH.test(path) && !DOT_SEGMENT.test(path)) {
    if (!query) return joined;
    const params = new URLSearchParams();
    for (const key in query) {
      const value = query[key];
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const search = params.toString();
    return search ? `${joined}?${search}` : joined;
  }
  const url = new URL(joined);
  if (query) {
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
  }
  return url.toString();
}

/** Checks and normalises a base URL: `http:` or `https:`, without a trailing slash, query or fragment. */
export function normalizeBaseURL(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) return undefined;
  if (url.username || url.password) return undefined;
  return url.toString().replace(/\/+$/, '');
}
