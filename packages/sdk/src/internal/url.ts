/** Query values the SDK serialises; `undefined` and `null` members are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/**
 * Joins a base URL (which may carry a path prefix, such as `https://example.com/fleece`) and an absolute
 * API path, then appends the query string.
 */
export function buildURL(baseURL: string, path: string, query?: Record<string, QueryValue>): string {
  const url = new URL(baseURL.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`));
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
