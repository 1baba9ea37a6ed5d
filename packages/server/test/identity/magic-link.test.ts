import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import {
  auditEvents,
  lastMagicLink,
  originOf,
  requestMagicToken,
  setCookie,
  verifyMagicToken,
} from '../helpers/identity.js';

describe('magic-link sign-in (claim C6)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ env: { FLEECE_PUBLIC_URL: 'https://fleece.example' } });
  });
  afterEach(() => t.close());

  const ask = (payload: Record<string, unknown>, remoteAddress = '10.1.1.1') =>
    t.app.inject({ method: 'POST', url: '/api/auth/magic-link', payload, remoteAddress });

  it('answers 202 alike for a new and a known address, and logs an absolute link with token=', async () => {
    const first = await ask({ email: 'new@example.test' });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ status: 'accepted' });
    const link = lastMagicLink(t);
    expect(link).toMatch(/^https:\/\/fleece\.example\/login\/magic\?token=[A-Za-z0-9_-]{43}$/);
    const second = await ask({ email: 'New@Example.test' }, '10.1.1.2');
    expect(second.statusCode).toBe(202);
    expect(second.body).toBe(first.body);
  });

  it('stores only the SHA-256 of the 256-bit token', async () => {
    const token = await requestMagicToken(t, 'hash@example.test');
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const rows = await t.db.ownerQuery<{ token_hash: string }>('select token_hash from magic_link_tokens');
    expect(rows).toEqual([{ token_hash: createHash('sha256').update(token).digest('hex') }]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('signs in with a Secure, HttpOnly, SameSite=Lax __Host- cookie and lands on returnTo', async () => {
    const token = await requestMagicToken(t, 'cookie@example.test', '/settings?tab=keys');
    const res = await verifyMagicToken(t, token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ redirectTo: '/settings?tab=keys' });
    const cookie = setCookie(res, SESSION_COOKIE)!;
    expect(cookie.raw).toMatch(/; Path=\//);
    expect(cookie.raw).toMatch(/; HttpOnly/);
    expect(cookie.raw).toMatch(/; Secure/);
    expect(cookie.raw).toMatch(/; SameSite=Lax/);
    expect(cookie.raw).not.toMatch(/Domain=/i);
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().user).toMatchObject({ email: 'cookie@example.test', emailVerified: true, role: 'user' });
    const actions = (await auditEvents(t)).map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(['auth.magic_link.requested:success', 'auth.login.succeeded:success']);
  });

  it('gives exactly one session when the same link is used twice at once', async () => {
    const token = await requestMagicToken(t, 'race@example.test');
    const results = await Promise.all([verifyMagicToken(t, token), verifyMagicToken(t, token)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    const sessions = await t.db.ownerQuery('select id from sessions');
    expect(sessions).toHaveLength(1);
  });

  it('refuses a used link and records auth.login.failed', async () => {
    const token = await requestMagicToken(t, 'reuse@example.test');
    expect((await verifyMagicToken(t, token)).statusCode).toBe(200);
    const again = await verifyMagicToken(t, token);
    expect(again.statusCode).toBe(401);
    const failed = (await auditEvents(t)).filter((e) => e.action === 'auth.login.failed');
    expect(failed).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        metadata: { method: 'magic_link', reason: 'invalid_or_used_token' },
      }),
    ]);
    // A failure belongs to no known person: it is on the system chain, where the address is kept in clear.
    const [row] = await t.db.ownerQuery<{ ip: string; chain: string }>(
      "select host(ip) as ip, chain from audit_events where action = 'auth.login.failed'",
    );
    expect(row).toEqual({ ip: '127.0.0.1', chain: 'system' });
  });

  it('expires a link after 15 minutes', async () => {
    const token = await requestMagicToken(t, 'late@example.test');
    t.clock.advance(15 * 60_000);
    expect((await verifyMagicToken(t, token)).statusCode).toBe(401);
  });

  it('accepts a link just before 15 minutes', async () => {
    const token = await requestMagicToken(t, 'intime@example.test');
    t.clock.advance(15 * 60_000 - 1_000);
    expect((await verifyMagicToken(t, token)).statusCode).toBe(200);
  });

  it('refuses to complete a sign-in posted from another site (login CSRF)', async () => {
    const token = await requestMagicToken(t, 'csrf@example.test');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link/verify',
      headers: { origin: 'https://evil.test' },
      payload: { token },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('cross_origin_denied');
    expect((await verifyMagicToken(t, token)).statusCode).toBe(200);
  });

  it('limits requests to 5 per minute per IP', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await ask({ email: `ip${i}@example.test` }, '10.2.2.2')).statusCode).toBe(202);
    }
    const limited = await ask({ email: 'ip5@example.test' }, '10.2.2.2');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(limited.json().code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-limit']).toBe('5');
    const recorded = (await auditEvents(t)).filter((e) => e.action === 'security.rate_limit_exceeded');
    expect(recorded).toEqual([
      expect.objectContaining({ outcome: 'denied', resource_id: 'POST /api/auth/magic-link' }),
    ]);
  });

  it('limits requests to 3 per 10 minutes per email address, from any IP', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await ask({ email: 'same@example.test' }, `10.3.3.${i}`)).statusCode).toBe(202);
    }
    const limited = await ask({ email: 'SAME@example.test' }, '10.3.3.9');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(500);
  });

  it('names the bad field of an invalid request', async () => {
    const res = await ask({ email: 'not-an-email' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.email']);
  });

  it('refuses a magic-link request posted from another site', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link',
      headers: { origin: 'https://evil.test' },
      payload: { email: 'x@example.test' },
      remoteAddress: '10.4.4.4',
    });
    expect(res.statusCode).toBe(403);
    expect(originOf(t)).toBe('https://fleece.example');
  });
});
