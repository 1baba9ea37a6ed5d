import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS_POLICY } from '../src/plugins/security-headers.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

const EXPECTED = {
  'content-security-policy':
    "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'self'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
  'x-frame-options': 'SAMEORIGIN',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': PERMISSIONS_POLICY,
};

describe('security headers (claims C15, C16)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    t.app.get('/api/v1/test-boom', async () => {
      throw new Error('kaboom');
    });
  });
  afterAll(() => t.close());

  it.each([
    ['a 200', '/api/health', 200],
    ['a 404', '/api/v1/no-such-route', 404],
    ['a 500', '/api/v1/test-boom', 500],
    ['a static page', '/', 200],
  ])('sets every header on %s', async (_label, url, status) => {
    const res = await t.app.inject(url);
    expect(res.statusCode).toBe(status);
    for (const [name, value] of Object.entries(EXPECTED)) {
      expect(res.headers[name], name).toBe(value);
    }
    expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('marks API responses, errors included, as not cacheable', async () => {
    for (const url of ['/api/health', '/api/v1/no-such-route', '/api/v1/test-boom']) {
      expect((await t.app.inject(url)).headers['cache-control']).toBe('no-store');
    }
  });

  it('CSP allows no inline script, plugins or foreign framing', () => {
    const csp = EXPECTED['content-security-policy'];
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
  });

  it('grants no CORS access to a foreign origin by default', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/health',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await t.app.inject({ url: '/api/health', headers: { origin: 'https://evil.test' } });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS allow-list', () => {
  it('answers a configured origin and no other', async () => {
    const t = await buildTestApp({ env: { FLEECE_CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const ok = await t.app.inject({ url: '/api/health', headers: { origin: 'https://app.example.com' } });
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
      const other = await t.app.inject({
        url: '/api/health',
        headers: { origin: 'https://app.example.com.evil.test' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
