import { describe, expect, it } from 'vitest';
import { buildURL } from '../../src/internal/url.js';

/** What `URL` makes of the same base, path and query: the fast path must agree with it. */
function viaURL(
  base: string,
  path: string,
  query: Record<string, string | number | boolean | null | undefined> = {},
) {
  const url = new URL(base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`));
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

describe('buildURL', () => {
  it.each([
    ['http://127.0.0.1:3000', '/api/v1/me', undefined],
    [
      'https://example.com/fleece/',
      'api/v1/agents',
      { limit: 20, cursor: 'a/b+c=d', skip: undefined, none: null },
    ],
    ['http://127.0.0.1:3000', '/api/v1/agents/agt_1%2Fx/execute', { stream: true }],
    [
      'http://127.0.0.1:3000',
      '/api/v1/audit-events',
      { action: 'api_key.', since: '2026-01-01T00:00:00+02:00' },
    ],
    ['http://127.0.0.1:3000', '/api/v1/things/a b', { q: 'ünïcode & more' }],
    ['http://127.0.0.1:3000', '/api/v1/../health', {}],
  ])('joins %s and %s as URL would', (base, path, query) => {
    expect(buildURL(base, path, query)).toBe(viaURL(base, path, query ?? {}));
  });
});
