import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCES, deriveKey } from '../../src/modules/identity/tokens.js';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { deviceTokens, signIn } from '../helpers/identity.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access token verification (claim C8: JWT tampering)', () => {
  let t: TestApp;
  let access: string;
  let claims: Record<string, unknown>;
  let cookie: string;
  let key: Uint8Array;

  beforeAll(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'jwt@example.test');
    access = (await deviceTokens(t, cookie)).access_token;
    claims = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString());
    key = deriveKey(t.app.config.secret, 'access-token');
  });
  afterAll(() => t.close());

  const me = (token: string) =>
    t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
  const forge = (
    overrides: Record<string, unknown>,
    alg = 'HS256',
    signWith: Parameters<SignJWT['sign']>[0] = key,
  ) => new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(signWith);

  it('accepts the genuine token', async () => {
    const res = await me(access);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.email).toBe('jwt@example.test');
  });

  it('rejects alg: none', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    const res = await me(token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('rejects another HMAC algorithm even with the right key (algorithm pinned)', async () => {
    expect((await me(await forge({}, 'HS512'))).statusCode).toBe(401);
  });

  it('rejects an RS256 token (algorithm switching)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    expect((await me(await forge({}, 'RS256', privateKey))).statusCode).toBe(401);
  });

  it('rejects a token signed with another key', async () => {
    expect((await me(await forge({}, 'HS256', new Uint8Array(32).fill(7)))).statusCode).toBe(401);
  });

  it('rejects a changed payload under the original signature', async () => {
    const [header, , signature] = access.split('.');
    const token = `${header}.${b64({ ...claims, sub: 'usr_someoneelse000000000000' })}.${signature}`;
    expect((await me(token)).statusCode).toBe(401);
  });

  it('rejects a wrong audience, including the browser cookie audience', async () => {
    expect((await me(await forge({ aud: 'fleece:other' }))).statusCode).toBe(401);
    expect((await me(await forge({ aud: AUDIENCES.browser }))).statusCode).toBe(401);
  });

  it('rejects a wrong issuer', async () => {
    expect((await me(await forge({ iss: 'https://evil.test' }))).statusCode).toBe(401);
  });

  it('rejects a token that is not valid yet', async () => {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect((await me(await forge({ nbf: now + 60, iat: now + 60 }))).statusCode).toBe(401);
  });

  it('rejects an expired token, saying so', async () => {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const res = await me(await forge({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 }));
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toMatch(/expired/);
  });

  it('rejects a token naming another session of the same user', async () => {
    expect((await me(await forge({ sid: 'ses_doesnotexist000000000000' }))).statusCode).toBe(401);
  });

  it('rejects a CLI token used as the session cookie', async () => {
    const res = await t.app.inject({ url: '/api/v1/me', headers: { cookie: `${SESSION_COOKIE}=${access}` } });
    expect(res.statusCode).toBe(401);
  });

  it('rejects garbage and a malformed header', async () => {
    expect((await me('not.a.jwt')).statusCode).toBe(401);
    const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toMatch(/malformed/);
  });

  it('refuses a malformed API key as invalid_api_key', async () => {
    const res = await me('flc_0123456789abcdef');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_api_key');
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });
});
