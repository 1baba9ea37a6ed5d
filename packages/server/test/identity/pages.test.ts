import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens, originOf, signIn } from '../helpers/identity.js';

describe('web pages (strict CSP: no inline script or style)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it.each(['/', '/login', '/login/magic', '/device', '/cli/authorize', '/settings'])(
    'serves %s as static HTML with external scripts only',
    async (url) => {
      const res = await t.app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      const html = res.body;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attributes, body] of scripts) {
        expect(attributes).toMatch(/src="\/js\/[a-z/-]+\.js"/);
        expect(body!.trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      expect(html).toMatch(/<html lang="en">[\s\S]*<main\b[^>]*>[\s\S]*<h1\b/);
      expect(html).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    },
  );

  it('serves the page scripts', async () => {
    const files = ['common', 'actors', 'home', 'login', 'magic', 'device', 'cli-authorize'];
    const settings = ['main', 'profile', 'keys', 'sessions', 'audit', 'data', 'consents', 'billing'];
    for (const file of [...files, ...settings.map((f) => `settings/${f}`)]) {
      const res = await t.app.inject(`/js/${file}.js`);
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type']).toMatch(/javascript/);
    }
  });

  it('serves the favicon (SVG, and ICO for clients that ask for /favicon.ico)', async () => {
    const svg = await t.app.inject('/favicon.svg');
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const ico = await t.app.inject('/favicon.ico');
    expect(ico.statusCode).toBe(200);
    expect(ico.rawPayload.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
  });
});

describe('GET /api/auth/session', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('answers 200 signedIn: false without a session cookie, and for bearer credentials', async () => {
    const anonymous = await t.app.inject('/api/auth/session');
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ signedIn: false });
    const cookie = await signIn(t, 'grace@example.test');
    const { access_token } = await deviceTokens(t, cookie);
    const bearer = await t.app.inject({
      url: '/api/auth/session',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(bearer.json()).toEqual({ signedIn: false });
  });

  it('names the signed-in user for a valid session cookie, and not after sign-out', async () => {
    const cookie = await signIn(t, 'ada@example.test');
    const res = await t.app.inject({ url: '/api/auth/session', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ signedIn: true, user: { email: 'ada@example.test', name: null } });
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie, origin: originOf(t) },
    });
    expect(out.statusCode).toBe(204);
    const after = await t.app.inject({ url: '/api/auth/session', headers: { cookie } });
    expect(after.json()).toEqual({ signedIn: false });
  });
});
