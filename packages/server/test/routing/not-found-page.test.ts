import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS_POLICY } from '../../src/plugins/security-headers.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** What Chromium sends when it navigates to an address. */
const BROWSER =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'self'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
  'x-frame-options': 'SAMEORIGIN',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': PERMISSIONS_POLICY,
  'cache-control': 'no-store',
};

describe('404 for a browser: an HTML page; for everything else: problem+json', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const get = (url: string, accept?: string, method: 'GET' | 'HEAD' | 'POST' = 'GET') =>
    t.app.inject({ method, url, headers: accept === undefined ? {} : { accept } });

  it('a browser navigating to an unknown page gets the HTML 404 page, with every security header', async () => {
    const res = await get('/no-such-page?x=<script>', BROWSER);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name], name).toBe(value);
    expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.body).toContain('<h1>Page not found</h1>');
    expect(res.body).toContain('<link rel="stylesheet" href="/styles.css">');
    expect(res.body).toContain('<a class="button" href="/">Go to the home page</a>');
    // Nothing of the request is echoed, and nothing the CSP would refuse is in it.
    expect(res.body).not.toContain('no-such-page');
    expect(res.body).not.toMatch(/<script\b|<style\b|\sstyle=|\son[a-z]+=/i);
    const head = await get('/no-such-page', BROWSER, 'HEAD');
    expect(head.statusCode).toBe(404);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it.each([
    ['Chromium under /api/', '/api/v1/no-such-route', BROWSER],
    ['Chromium under a respelling of /api/', '/API/v1/me', BROWSER],
    ['Chromium under //api/', '//api/v1/nothing', BROWSER],
    ['Accept: application/json', '/no-such-page', 'application/json'],
    ['Accept: */* (curl, fetch)', '/no-such-page', '*/*'],
    ['no Accept', '/no-such-page', undefined],
    ['a tie between JSON and HTML', '/no-such-page', 'application/json, text/html'],
    ['JSON preferred', '/no-such-page', 'text/html;q=0.5, application/problem+json'],
    ['HTML refused', '/no-such-page', 'text/html;q=0, */*'],
    ['a missing script (Accept of a script load)', '/js/no-such-file.js', '*/*'],
  ])('%s: problem+json as before', async (_label, url, accept) => {
    const res = await get(url, accept);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ status: 404, code: 'not_found', title: 'Not Found' });
  });

  it('only GET and HEAD get the page; a wrong method on a known path still answers 405', async () => {
    const post = await get('/no-such-page', BROWSER, 'POST');
    expect(post.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(post.json().code).toBe('not_found');
    const wrong = await t.app.inject({ method: 'PUT', url: '/api/v1/me', headers: { accept: BROWSER } });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.json().code).toBe('method_not_allowed');
  });

  it('text/* counts as asking for HTML', async () => {
    const res = await get('/no-such-page', 'text/*');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  });
});
