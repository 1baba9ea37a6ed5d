import type { LightMyRequestResponse } from 'fastify';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OAUTH_STATE_COOKIE } from '../../src/modules/identity/auth.routes.js';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, setCookie, signIn } from '../helpers/identity.js';

const PUBLIC_URL = 'https://fleece.example';

/** Follows the sign-in the way a browser would: our start → the provider → our callback. */
async function signInAt(t: TestApp, provider: string, returnTo?: string) {
  const start = await t.app.inject(
    `/api/auth/oauth/${provider}/start${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
  );
  expect(start.statusCode).toBe(303);
  const state = setCookie(start, OAUTH_STATE_COOKIE)!;
  const authorize = new URL(start.headers.location as string);
  return { start, state, authorize };
}

async function callback(t: TestApp, provider: string, location: string, stateCookie?: string) {
  const url = new URL(location);
  expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_URL}/api/auth/oauth/${provider}/callback`);
  return t.app.inject({
    url: `${url.pathname}${url.search}`,
    headers: stateCookie ? { cookie: `${OAUTH_STATE_COOKIE}=${stateCookie}` } : {},
  });
}

function sessionCookie(res: LightMyRequestResponse): string {
  const cookie = setCookie(res, SESSION_COOKIE);
  expect(cookie, 'a session cookie').toBeDefined();
  return `${SESSION_COOKIE}=${cookie!.value}`;
}

describe('OpenID Connect sign-in against a real local identity provider (claim C6, C7)', () => {
  let idp: OAuth2Server;
  let claims: Record<string, unknown>;
  let t: TestApp;

  beforeAll(async () => {
    idp = new OAuth2Server();
    await idp.issuer.keys.generate('RS256');
    await idp.start(0, '127.0.0.1');
    idp.service.on('beforeTokenSigning', (token) => {
      Object.assign(token.payload, claims);
    });
  });
  afterAll(() => idp.stop());

  beforeEach(async () => {
    claims = { sub: 'google-123', email: 'Ada@Example.test', email_verified: true, name: 'Ada Lovelace' };
    t = await buildTestApp({
      env: {
        FLEECE_PUBLIC_URL: PUBLIC_URL,
        FLEECE_GOOGLE_CLIENT_ID: 'google-client',
        FLEECE_GOOGLE_CLIENT_SECRET: 'google-secret',
        FLEECE_GOOGLE_ISSUER: idp.issuer.url!,
        FLEECE_ENTRA_CLIENT_ID: 'entra-client',
        FLEECE_ENTRA_CLIENT_SECRET: 'entra-secret',
        FLEECE_ENTRA_ISSUER: idp.issuer.url!,
        FLEECE_ADMIN_EMAILS: 'ada@example.test',
      },
    });
  });
  afterEach(() => t.close());

  /** Runs the whole flow at the mock provider; returns the callback's response. */
  async function fullSignIn(provider: string, returnTo?: string) {
    const { state, authorize } = await signInAt(t, provider, returnTo);
    const atIdp = await fetch(authorize, { redirect: 'manual' });
    expect(atIdp.status).toBe(302);
    return callback(t, provider, atIdp.headers.get('location')!, state.value);
  }

  it('lists the configured providers only', async () => {
    const res = await t.app.inject('/api/auth/providers');
    expect(res.json()).toEqual({
      providers: [
        { id: 'google', name: 'Google', loginUrl: '/api/auth/oauth/google/start' },
        { id: 'entra', name: 'Microsoft', loginUrl: '/api/auth/oauth/entra/start' },
      ],
      magicLink: true,
      // No RESEND_API_KEY on a non-production server: the page says the link is in the server's terminal.
      magicLinkDelivery: 'server-log',
    });
    expect((await t.app.inject('/api/auth/oauth/github/start')).statusCode).toBe(404);
  });

  it('sends the browser to the provider with PKCE S256, state, nonce and the exact redirect URI', async () => {
    const { state, authorize } = await signInAt(t, 'google');
    expect(authorize.origin + authorize.pathname).toBe(`${idp.issuer.url}/authorize`);
    const p = authorize.searchParams;
    expect(p.get('redirect_uri')).toBe(`${PUBLIC_URL}/api/auth/oauth/google/callback`);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('client_id')).toBe('google-client');
    expect(state.raw).toMatch(
      /^__Host-fleece_oauth=.*; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('signs a new user in, lands on returnTo, promotes a listed admin, and records the login', async () => {
    const res = await fullSignIn('google', '/settings');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/settings');
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: sessionCookie(res) } });
    expect(me.json().user).toMatchObject({
      email: 'Ada@Example.test',
      emailVerified: true,
      name: 'Ada Lovelace',
      role: 'admin',
    });
    const login = (await auditEvents(t)).filter((e) => e.action === 'auth.login.succeeded');
    expect(login).toEqual([expect.objectContaining({ outcome: 'success', metadata: { method: 'google' } })]);
  });

  it('links a verified provider email to the existing account', async () => {
    claims.email = 'linked@example.test';
    const cookie = await signIn(t, 'linked@example.test');
    const before = (await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).json().user.id;
    const res = await fullSignIn('google');
    const after = (await t.app.inject({ url: '/api/v1/me', headers: { cookie: sessionCookie(res) } })).json()
      .user.id;
    expect(after).toBe(before);
  });

  it('refuses an unverified provider email that belongs to an existing account', async () => {
    claims = { sub: 'entra-999', preferred_username: 'victim@example.test', name: 'Mallory' };
    await signIn(t, 'victim@example.test');
    const res = await fullSignIn('entra');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?error=email_unverified_conflict');
    expect(setCookie(res, SESSION_COOKIE)).toBeUndefined();
    const failed = (await auditEvents(t)).filter((e) => e.action === 'auth.login.failed');
    expect(failed).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        metadata: { method: 'entra', reason: 'email_unverified_conflict' },
      }),
    ]);
  });

  it('creates an unverified account from an Entra ID sign-in without a verified email, and does not make it admin', async () => {
    claims = { sub: 'entra-1', preferred_username: 'ada@example.test', name: 'Not Ada' };
    const res = await fullSignIn('entra');
    const me = (await t.app.inject({ url: '/api/v1/me', headers: { cookie: sessionCookie(res) } })).json();
    expect(me.user).toMatchObject({ email: 'ada@example.test', emailVerified: false, role: 'user' });
  });

  it('refuses a callback whose state does not match the cookie', async () => {
    const { state, authorize } = await signInAt(t, 'google');
    authorize.searchParams.set('state', 'forged-state-value');
    const atIdp = await fetch(authorize, { redirect: 'manual' });
    const res = await callback(t, 'google', atIdp.headers.get('location')!, state.value);
    expect(res.headers.location).toBe('/login?error=state_mismatch');
    expect(setCookie(res, SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a callback without the state cookie (started elsewhere)', async () => {
    const { authorize } = await signInAt(t, 'google');
    const atIdp = await fetch(authorize, { redirect: 'manual' });
    const res = await callback(t, 'google', atIdp.headers.get('location')!);
    expect(res.headers.location).toBe('/login?error=state_missing');
  });

  it('refuses a state cookie of another provider', async () => {
    const { state } = await signInAt(t, 'entra');
    const res = await t.app.inject({
      url: '/api/auth/oauth/google/callback?code=x&state=y',
      headers: { cookie: `${OAUTH_STATE_COOKIE}=${state.value}` },
    });
    expect(res.headers.location).toBe('/login?error=state_missing');
  });

  it('refuses a state cookie that expired after 10 minutes', async () => {
    const { state, authorize } = await signInAt(t, 'google');
    const atIdp = await fetch(authorize, { redirect: 'manual' });
    t.clock.advance(600_000);
    const res = await callback(t, 'google', atIdp.headers.get('location')!, state.value);
    expect(res.headers.location).toBe('/login?error=state_missing');
  });

  it('records the provider refusing access', async () => {
    const { state } = await signInAt(t, 'google');
    const res = await t.app.inject({
      url: '/api/auth/oauth/google/callback?error=access_denied&state=x',
      headers: { cookie: `${OAUTH_STATE_COOKIE}=${state.value}` },
    });
    expect(res.headers.location).toBe('/login?error=access_denied');
    expect((await auditEvents(t)).map((e) => e.action)).toEqual(['auth.login.failed']);
  });

  it('falls back to / for an evil returnTo and records security.redirect_blocked', async () => {
    const res = await fullSignIn('google', 'https://fleece.example.evil.test/');
    expect(res.headers.location).toBe('/');
    expect((await auditEvents(t)).map((e) => e.action)).toContain('security.redirect_blocked');
  });
});

describe('an unreachable provider', () => {
  it('sends the browser back to /login with provider_unavailable and records the failure', async () => {
    const gone = new OAuth2Server();
    await gone.start(0, '127.0.0.1');
    const issuer = gone.issuer.url!;
    await gone.stop();
    const t = await buildTestApp({
      env: { FLEECE_GOOGLE_CLIENT_ID: 'g', FLEECE_GOOGLE_CLIENT_SECRET: 's', FLEECE_GOOGLE_ISSUER: issuer },
    });
    try {
      const res = await t.app.inject('/api/auth/oauth/google/start');
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/login?error=provider_unavailable');
      expect((await auditEvents(t)).map((e) => `${e.action}:${e.outcome}`)).toEqual([
        'auth.login.failed:failure',
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('GitHub sign-in (OAuth 2.0 + REST API, mocked with msw)', () => {
  const server = setupServer();
  let emails: { email: string; primary: boolean; verified: boolean }[];
  let tokenRequest: URLSearchParams | undefined;
  let t: TestApp;

  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterAll(() => server.close());
  beforeEach(async () => {
    emails = [
      { email: 'old@example.test', primary: false, verified: true },
      { email: 'octo@example.test', primary: true, verified: true },
    ];
    server.use(
      http.post('https://github.com/login/oauth/access_token', async ({ request }) => {
        tokenRequest = new URLSearchParams(await request.text());
        return HttpResponse.json({
          access_token: 'gho_test',
          token_type: 'bearer',
          scope: 'read:user,user:email',
        });
      }),
      http.get('https://api.github.com/user', ({ request }) =>
        request.headers.get('authorization') === 'Bearer gho_test'
          ? HttpResponse.json({ id: 4242, login: 'octocat', name: 'The Octocat' })
          : new HttpResponse(null, { status: 401 }),
      ),
      http.get('https://api.github.com/user/emails', () => HttpResponse.json(emails)),
    );
    t = await buildTestApp({
      env: {
        FLEECE_PUBLIC_URL: PUBLIC_URL,
        FLEECE_GITHUB_CLIENT_ID: 'gh-client',
        FLEECE_GITHUB_CLIENT_SECRET: 'gh-secret',
      },
    });
  });
  afterEach(async () => {
    server.resetHandlers();
    await t.close();
  });

  async function githubSignIn() {
    const { state, authorize } = await signInAt(t, 'github');
    expect(authorize.origin + authorize.pathname).toBe('https://github.com/login/oauth/authorize');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const location = `${PUBLIC_URL}/api/auth/oauth/github/callback?code=gh-code&state=${authorize.searchParams.get('state')}`;
    return callback(t, 'github', location, state.value);
  }

  it('signs in with the verified primary email, sending the verifier and exact redirect URI', async () => {
    const res = await githubSignIn();
    expect(res.statusCode).toBe(303);
    expect(tokenRequest?.get('redirect_uri')).toBe(`${PUBLIC_URL}/api/auth/oauth/github/callback`);
    expect(tokenRequest?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = (await t.app.inject({ url: '/api/v1/me', headers: { cookie: sessionCookie(res) } })).json();
    expect(me.user).toMatchObject({ email: 'octo@example.test', emailVerified: true, name: 'The Octocat' });
  });

  it('refuses an account whose primary email is not verified', async () => {
    emails = [{ email: 'octo@example.test', primary: true, verified: false }];
    const res = await githubSignIn();
    expect(res.headers.location).toBe('/login?error=email_unverified');
    expect(setCookie(res, SESSION_COOKIE)).toBeUndefined();
  });
});
