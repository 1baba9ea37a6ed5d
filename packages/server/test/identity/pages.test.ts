import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('sign-in pages (strict CSP: no inline script or style)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it.each(['/login', '/login/magic', '/device', '/cli/authorize'])(
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
        expect(attributes).toMatch(/src="\/js\/[a-z-]+\.js"/);
        expect(body!.trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      expect(html).toMatch(/<html lang="en">[\s\S]*<main>[\s\S]*<h1>/);
    },
  );

  it('serves the page scripts', async () => {
    for (const file of ['common', 'login', 'magic', 'device', 'cli-authorize']) {
      const res = await t.app.inject(`/js/${file}.js`);
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type']).toMatch(/javascript/);
    }
  });
});
