import { DEVICE_CODE_GRANT_TYPE, DeviceAuthorizationResponse, TokenResponse } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH_LIMITS } from '../../src/limits.js';
import { OAUTH_BODY_LIMIT } from '../../src/modules/identity/cli.routes.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens, originOf, signIn } from '../helpers/identity.js';

const FORM = 'application/x-www-form-urlencoded';
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** An OAuth error answer (RFC 6749 §5.2): the shape, the status and the no-cache headers, exactly. */
function expectOAuthError(res: LightMyRequestResponse, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.json()).toEqual({ error, error_description: expect.any(String) });
}

describe('OAuth endpoints: form encoding (RFC 6749 §4.1.3, RFC 8628 §3.1/§3.4, RFC 7009 §2.1)', () => {
  let t: TestApp;
  let cookie: string;
  beforeEach(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'form@example.test');
  });
  afterEach(() => t.close());

  const post = (url: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': FORM, ...headers },
      payload: form(params),
    });

  it('runs the device flow, refresh and revocation with form-encoded bodies, all grants at /api/auth/token', async () => {
    const started = await post('/api/auth/device/code', { client_id: 'fleece-cli', scope: '' });
    expect(started.statusCode).toBe(200);
    expect(started.headers.pragma).toBe('no-cache');
    expect(started.headers['cache-control']).toBe('no-store');
    const grant = DeviceAuthorizationResponse.parse(started.json());
    const poll = () =>
      post('/api/auth/token', {
        grant_type: DEVICE_CODE_GRANT_TYPE,
        device_code: grant.device_code,
        client_id: 'fleece-cli',
      });
    expectOAuthError(await poll(), 400, 'authorization_pending');
    const decided = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/decision',
      headers: { cookie, origin: originOf(t) },
      payload: { userCode: grant.user_code, decision: 'approve' },
    });
    expect(decided.statusCode).toBe(200);
    t.clock.advance(5_000);
    const issued = await poll();
    expect(issued.statusCode).toBe(200);
    expect(issued.headers.pragma).toBe('no-cache');
    expect(issued.headers['cache-control']).toBe('no-store');
    const tokens = TokenResponse.parse(issued.json());

    const refreshed = await post('/api/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: 'fleece-cli',
    });
    expect(refreshed.statusCode).toBe(200);
    const next = TokenResponse.parse(refreshed.json());

    const revoked = await post('/api/auth/revoke', {
      token: next.refresh_token,
      token_type_hint: 'refresh_token',
      client_id: 'fleece-cli',
    });
    expect(revoked.statusCode).toBe(200);
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    expect(me.statusCode).toBe(401);
  });

  it('keeps POST /api/auth/device/token as an alias of the token endpoint, every grant included', async () => {
    const tokens = await deviceTokens(t, cookie);
    const res = await post('/api/auth/device/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: 'fleece-cli',
    });
    expect(res.statusCode).toBe(200);
    TokenResponse.parse(res.json());
  });

  it('answers unsupported_grant_type for an unknown grant, at the endpoint and its alias', async () => {
    for (const url of ['/api/auth/token', '/api/auth/device/token']) {
      const res = await post(url, {
        grant_type: 'password',
        username: 'a',
        password: 'b',
        client_id: 'fleece-cli',
      });
      expectOAuthError(res, 400, 'unsupported_grant_type');
    }
  });

  it('answers invalid_request for a missing or repeated parameter (RFC 6749 §3.2: no parameter twice)', async () => {
    expectOAuthError(
      await post('/api/auth/token', { grant_type: 'refresh_token', client_id: 'fleece-cli' }),
      400,
      'invalid_request',
    );
    const repeated = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': FORM },
      payload: 'grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=fleece-cli',
    });
    expectOAuthError(repeated, 400, 'invalid_request');
  });

  it('regression F8: a 401 invalid_client to a client that sent Authorization carries WWW-Authenticate with its scheme (RFC 6749 §5.2)', async () => {
    const body = { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'nope' };
    const basic = await post('/api/auth/token', body, { authorization: 'Basic bm9wZTpzZWNyZXQ=' });
    expectOAuthError(basic, 401, 'invalid_client');
    expect(basic.headers['www-authenticate']).toBe('Basic realm="fleece"');
    const bearerScheme = await post('/api/auth/device/token', body, { authorization: 'Bearer abc' });
    expectOAuthError(bearerScheme, 401, 'invalid_client');
    expect(bearerScheme.headers['www-authenticate']).toBe('Bearer realm="fleece"');
    const odd = await post('/api/auth/device/code', { client_id: 'nope' }, { authorization: '"x" y' });
    expectOAuthError(odd, 401, 'invalid_client');
    expect(odd.headers['www-authenticate']).toBe('Basic realm="fleece"');
    // No Authorization header: no challenge is required, none is sent.
    const plain = await post('/api/auth/token', body);
    expectOAuthError(plain, 401, 'invalid_client');
    expect(plain.headers['www-authenticate']).toBeUndefined();
  });

  it('regression F8: the device flow refuses any scope with invalid_scope (it grants none; RFC 6749 §3.3, RFC 8628 §3.1)', async () => {
    for (const scope of ['admin', 'openid', 'read write', ' admin']) {
      expectOAuthError(
        await post('/api/auth/device/code', { client_id: 'fleece-cli', scope }),
        400,
        'invalid_scope',
      );
    }
    // JSON bodies the same.
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/code',
      payload: { client_id: 'fleece-cli', scope: 'admin' },
    });
    expectOAuthError(json, 400, 'invalid_scope');
    // Scope left out, or sent empty (counts as omitted): the device flow starts.
    expect((await post('/api/auth/device/code', { client_id: 'fleece-cli' })).statusCode).toBe(200);
    expect((await post('/api/auth/device/code', { client_id: 'fleece-cli', scope: '' })).statusCode).toBe(
      200,
    );
  });

  it('regression F8: revocation ignores an unknown token_type_hint and still revokes (RFC 7009 §2.1)', async () => {
    const unknown = await post('/api/auth/revoke', { token: 'abc', token_type_hint: 'foo' });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toEqual({});
    const tokens = await deviceTokens(t, cookie);
    const revoked = await post('/api/auth/revoke', {
      token: tokens.refresh_token,
      token_type_hint: 'id_token',
      client_id: 'fleece-cli',
    });
    expect(revoked.statusCode).toBe(200);
    const refreshed = await post('/api/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: 'fleece-cli',
    });
    expectOAuthError(refreshed, 400, 'invalid_grant');
    // A hint is still bounded like every parameter.
    expectOAuthError(
      await post('/api/auth/revoke', { token: 'abc', token_type_hint: 'x'.repeat(129) }),
      400,
      'invalid_request',
    );
  });

  it('treats a parameter sent without a value as omitted (RFC 6749 §3.2)', async () => {
    const res = await post('/api/auth/revoke', { token: 'unknown', token_type_hint: '', client_id: '' });
    expect(res.statusCode).toBe(200);
  });

  it('answers malformed JSON, another media type and an oversized body in the OAuth shape, never problem+json', async () => {
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type": "refresh_token",',
    });
    expectOAuthError(malformed, 400, 'invalid_request');
    const empty = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expectOAuthError(empty, 400, 'invalid_request');
    const text = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke',
      headers: { 'content-type': 'text/plain' },
      payload: 'token=x',
    });
    expectOAuthError(text, 415, 'invalid_request');
    const multipart = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/code',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x--',
    });
    expectOAuthError(multipart, 415, 'invalid_request');
    const big = await post('/api/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(OAUTH_BODY_LIMIT),
      client_id: 'fleece-cli',
    });
    expectOAuthError(big, 413, 'invalid_request');
    const bigJson = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke',
      payload: { token: 'x'.repeat(OAUTH_BODY_LIMIT) },
    });
    expectOAuthError(bigJson, 413, 'invalid_request');
  });

  it('answers 429 temporarily_unavailable with Retry-After in the OAuth shape when a limit trips', async () => {
    const remoteAddress = '203.0.113.9';
    for (let i = 0; i < AUTH_LIMITS.tokenPerIp.max; i++) {
      const ok = await t.app.inject({
        method: 'POST',
        url: '/api/auth/revoke',
        headers: { 'content-type': FORM },
        payload: form({ token: `unknown-${i}` }),
        remoteAddress,
      });
      expect(ok.statusCode).toBe(200);
    }
    const limited = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke',
      headers: { 'content-type': FORM },
      payload: form({ token: 'one-more' }),
      remoteAddress,
    });
    expectOAuthError(limited, 429, 'temporarily_unavailable');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('still refuses form bodies with 415 problem+json on the rest of the API (CSRF defence)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { cookie, origin: originOf(t), 'content-type': FORM },
      payload: form({ name: 'from a form', scopes: 'read' }),
    });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.json()).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const keys = await t.app.inject({ url: '/api/v1/api-keys', headers: { cookie } });
    expect(keys.statusCode).toBe(200);
    expect(keys.json().data).toEqual([]);
  });
});

describe('authorization server metadata (RFC 8414)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ env: { FLEECE_PUBLIC_URL: 'https://fleece.example' } });
  });
  afterEach(() => t.close());

  it('names the issuer, every endpoint, the grants and the methods, with the usual security headers', async () => {
    const res = await t.app.inject('/.well-known/oauth-authorization-server');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({
      issuer: 'https://fleece.example',
      authorization_endpoint: 'https://fleece.example/api/auth/cli/authorize',
      token_endpoint: 'https://fleece.example/api/auth/token',
      device_authorization_endpoint: 'https://fleece.example/api/auth/device/code',
      revocation_endpoint: 'https://fleece.example/api/auth/revoke',
      grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT_TYPE],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
    });
    expect(res.headers['x-request-id']).toMatch(/.+/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  });

  it('is in the OpenAPI document', async () => {
    const res = await t.app.inject('/api/v1/openapi.json');
    const doc = res.json() as { paths: Record<string, Record<string, { summary?: string }>> };
    expect(doc.paths['/.well-known/oauth-authorization-server']?.get?.summary).toBe(
      'OAuth 2.0 authorization server metadata (RFC 8414)',
    );
  });
});
