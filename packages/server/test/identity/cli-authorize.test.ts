import { TokenResponse } from '@fleece/sdk/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REFRESH_RETRY_GRACE_MS } from '../../src/modules/identity/grants.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, deviceTokens, originOf, pkce, signIn } from '../helpers/identity.js';

const REDIRECT = 'http://127.0.0.1:53682/callback';

describe('CLI browser sign-in with a loopback redirect (RFC 8252 + PKCE)', () => {
  let t: TestApp;
  let cookie: string;
  beforeEach(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'cli@example.test');
  });
  afterEach(() => t.close());

  const authorizeUrl = (params: Record<string, string>) =>
    `/api/auth/cli/authorize?${new URLSearchParams(params)}`;

  /** Consents as the signed-in user; returns the loopback URL the browser is sent to. */
  async function consent(challenge: string, extra: Record<string, string> = {}) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/cli/authorize',
      headers: { cookie, origin: originOf(t) },
      payload: {
        client_id: 'fleece-cli',
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        state: 'st4te',
        decision: 'approve',
        ...extra,
      },
    });
    expect(res.statusCode).toBe(200);
    return new URL(res.json().redirectTo);
  }

  const exchange = (code: string, verifier: string, redirectUri = REDIRECT) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      payload: {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        client_id: 'fleece-cli',
      },
    });

  it('sends a signed-out browser to /login with the request as returnTo, a signed-in one to the consent page', async () => {
    const { challenge } = pkce();
    const params = {
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'abc',
      client_id: 'fleece-cli',
    };
    const out = await t.app.inject(authorizeUrl(params));
    expect(out.statusCode).toBe(303);
    const login = new URL(out.headers.location as string, 'http://x');
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('returnTo')).toBe(`/cli/authorize?${new URLSearchParams(params)}`);
    const signedIn = await t.app.inject({ url: authorizeUrl(params), headers: { cookie } });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe(`/cli/authorize?${new URLSearchParams(params)}`);
  });

  it('redirects with a one-time code and state, exchanged for tokens with the verifier', async () => {
    const { verifier, challenge } = pkce();
    const target = await consent(challenge);
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT);
    expect(target.searchParams.get('state')).toBe('st4te');
    const code = target.searchParams.get('code')!;
    const res = await exchange(code, verifier);
    expect(res.statusCode).toBe(200);
    const tokens = TokenResponse.parse(res.json());
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.json().user.email).toBe('cli@example.test');
    expect((await auditEvents(t)).map((e) => e.action)).toContain('auth.cli.authorized');
  });

  it('rejects a wrong verifier, and the code is burnt', async () => {
    const { verifier, challenge } = pkce();
    const code = (await consent(challenge)).searchParams.get('code')!;
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toBe('invalid_grant');
    expect((await exchange(code, verifier)).json().error).toBe('invalid_grant');
  });

  it('rejects a reused code and revokes the session it produced', async () => {
    const { verifier, challenge } = pkce();
    const code = (await consent(challenge)).searchParams.get('code')!;
    const first = TokenResponse.parse((await exchange(code, verifier)).json());
    const again = await exchange(code, verifier);
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toBe('invalid_grant');
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${first.access_token}` },
    });
    expect(me.statusCode).toBe(401);
  });

  it('rejects a different redirect_uri at the token endpoint', async () => {
    const { verifier, challenge } = pkce();
    const code = (await consent(challenge)).searchParams.get('code')!;
    expect((await exchange(code, verifier, 'http://127.0.0.1:53683/callback')).json().error).toBe(
      'invalid_grant',
    );
  });

  it('expires a code after 60 s', async () => {
    const { verifier, challenge } = pkce();
    const code = (await consent(challenge)).searchParams.get('code')!;
    t.clock.advance(60_000);
    expect((await exchange(code, verifier)).json().error).toBe('invalid_grant');
  });

  it.each([
    ['a non-loopback host', { redirect_uri: 'http://evil.test:53682/callback' }, 'query.redirect_uri'],
    ['localhost', { redirect_uri: 'http://localhost:53682/callback' }, 'query.redirect_uri'],
    [
      'https to a loopback address',
      { redirect_uri: 'https://127.0.0.1:53682/callback' },
      'query.redirect_uri',
    ],
    ['the plain method', { code_challenge_method: 'plain' }, 'query.code_challenge_method'],
    ['an unknown client', { client_id: 'evil' }, 'query.client_id'],
  ])('rejects %s without redirecting', async (_label, override, path) => {
    const { challenge } = pkce();
    const params = {
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'x',
      client_id: 'fleece-cli',
      ...override,
    };
    const res = await t.app.inject({ url: authorizeUrl(params), headers: { cookie } });
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.json().errors[0].path).toBe(path);
    const post = await t.app.inject({
      method: 'POST',
      url: '/api/auth/cli/authorize',
      headers: { cookie, origin: originOf(t) },
      payload: { ...params, decision: 'approve' },
    });
    expect(post.statusCode).toBe(400);
  });

  it('answers access_denied to the loopback address when the user cancels', async () => {
    const target = await (async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/cli/authorize',
        headers: { cookie, origin: originOf(t) },
        payload: { redirect_uri: REDIRECT, code_challenge: pkce().challenge, state: 's', decision: 'deny' },
      });
      return new URL(res.json().redirectTo);
    })();
    expect(target.searchParams.get('error')).toBe('access_denied');
    expect(target.searchParams.get('code')).toBeNull();
  });
});

describe('refresh token rotation and revocation', () => {
  let t: TestApp;
  let cookie: string;
  beforeEach(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'refresh@example.test');
  });
  afterEach(() => t.close());

  const refresh = (token: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers,
      payload: { grant_type: 'refresh_token', refresh_token: token, client_id: 'fleece-cli' },
    });
  const me = (access: string) =>
    t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${access}` } });

  it('rotates the refresh token on every use', async () => {
    const first = await deviceTokens(t, cookie);
    const second = TokenResponse.parse((await refresh(first.refresh_token)).json());
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const third = TokenResponse.parse((await refresh(second.refresh_token)).json());
    expect((await me(third.access_token)).statusCode).toBe(200);
  });

  it('revokes the whole family when a rotated token is reused, and records it', async () => {
    const first = await deviceTokens(t, cookie);
    const second = TokenResponse.parse((await refresh(first.refresh_token)).json());
    const reuse = await refresh(first.refresh_token);
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json().error).toBe('invalid_grant');
    expect((await refresh(second.refresh_token)).json().error).toBe('invalid_grant');
    expect((await me(second.access_token)).statusCode).toBe(401);
    const detected = (await auditEvents(t)).filter((e) => e.action === 'session.refresh_reuse_detected');
    expect(detected).toEqual([
      expect.objectContaining({ outcome: 'denied', metadata: { reason: 'refresh_token_reuse' } }),
    ]);
  });

  it('answers a retry of the same request (same Idempotency-Key) with the identical response while its successor is unused', async () => {
    const first = await deviceTokens(t, cookie);
    const lost = await refresh(first.refresh_token, { 'idempotency-key': 'k-1' });
    expect(lost.statusCode).toBe(200);
    t.clock.advance(10_000);
    const retried = await refresh(first.refresh_token, { 'idempotency-key': 'k-1' });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual(lost.json());
    expect((await me(retried.json().access_token)).statusCode).toBe(200);
    // Nothing new was issued: the session still has exactly one live refresh token, the one answered.
    const live = await t.db.ownerQuery<{ n: number }>(
      'select count(*)::int as n from refresh_tokens where rotated_at is null',
    );
    expect(live).toEqual([{ n: 1 }]);
    expect((await refresh(retried.json().refresh_token)).statusCode).toBe(200);
    expect((await auditEvents(t)).map((e) => e.action)).not.toContain('session.refresh_reuse_detected');
  });

  it('regression: refresh-token reuse detection bypass — a retry (same Idempotency-Key) after the successor was used revokes the session', async () => {
    const first = await deviceTokens(t, cookie);
    const r1 = TokenResponse.parse((await refresh(first.refresh_token, { 'idempotency-key': 'k-1' })).json());
    const r2 = TokenResponse.parse((await refresh(r1.refresh_token)).json());
    t.clock.advance(1_000);
    // Within the grace, same key: before the fix this answered 200 with a fresh pair and deleted R2.
    const replay = await refresh(first.refresh_token, { 'idempotency-key': 'k-1' });
    expect(replay.statusCode).toBe(400);
    expect(replay.headers['cache-control']).toBe('no-store');
    expect(replay.headers.pragma).toBe('no-cache');
    expect(replay.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'The refresh token was already used; the session has been revoked. Sign in again.',
    });
    // The whole family is dead: the live R2 and its access token.
    expect((await refresh(r2.refresh_token)).json().error).toBe('invalid_grant');
    expect((await me(r2.access_token)).statusCode).toBe(401);
    const sessionsLeft = await t.db.ownerQuery<{ revoked_reason: string | null }>(
      "select revoked_reason from sessions where kind = 'cli'",
    );
    expect(sessionsLeft).toEqual([{ revoked_reason: 'refresh_token_reuse' }]);
    const detected = (await auditEvents(t)).filter((e) => e.action === 'session.refresh_reuse_detected');
    expect(detected).toEqual([
      expect.objectContaining({ outcome: 'denied', metadata: { reason: 'refresh_token_reuse' } }),
    ]);
  });

  it('treats a retry (same Idempotency-Key) after the grace as reuse', async () => {
    const first = await deviceTokens(t, cookie);
    await refresh(first.refresh_token, { 'idempotency-key': 'k-1' });
    t.clock.advance(REFRESH_RETRY_GRACE_MS);
    expect((await refresh(first.refresh_token, { 'idempotency-key': 'k-1' })).json().error).toBe(
      'invalid_grant',
    );
    expect((await auditEvents(t)).map((e) => e.action)).toContain('session.refresh_reuse_detected');
  });

  it('treats a different Idempotency-Key as reuse', async () => {
    const first = await deviceTokens(t, cookie);
    await refresh(first.refresh_token, { 'idempotency-key': 'k-1' });
    expect((await refresh(first.refresh_token, { 'idempotency-key': 'k-2' })).json().error).toBe(
      'invalid_grant',
    );
    expect((await auditEvents(t)).map((e) => e.action)).toContain('session.refresh_reuse_detected');
  });

  it('answers unsupported_grant_type for an unknown grant', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      payload: { grant_type: 'password', username: 'a', password: 'b', client_id: 'fleece-cli' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('unsupported_grant_type');
  });

  it('revokes a session by its refresh token (RFC 7009), answering 200 for unknown tokens too', async () => {
    const tokens = await deviceTokens(t, cookie);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke',
      payload: { token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: 'fleece-cli' },
    });
    expect(res.statusCode).toBe(200);
    expect((await me(tokens.access_token)).statusCode).toBe(401);
    expect((await refresh(tokens.refresh_token)).json().error).toBe('invalid_grant');
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke',
      payload: { token: 'whatever' },
    });
    expect(unknown.statusCode).toBe(200);
    expect((await auditEvents(t)).filter((e) => e.action === 'session.revoked')).toHaveLength(1);
  });

  it('revokes a session by its access token', async () => {
    const tokens = await deviceTokens(t, cookie);
    await t.app.inject({ method: 'POST', url: '/api/auth/revoke', payload: { token: tokens.access_token } });
    expect((await me(tokens.access_token)).statusCode).toBe(401);
  });
});
