import { createHash, randomBytes } from 'node:crypto';
import { DEVICE_CODE_GRANT_TYPE, DeviceAuthorizationResponse, TokenResponse } from '@fleece/sdk/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normaliseUserCode } from '../../src/modules/identity/device.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, originOf, signIn } from '../helpers/identity.js';

describe('device authorization grant (RFC 8628)', () => {
  let t: TestApp;
  let cookie: string;
  beforeEach(async () => {
    t = await buildTestApp({ env: { FLEECE_PUBLIC_URL: 'https://fleece.example' } });
    cookie = await signIn(t, 'device@example.test');
  });
  afterEach(() => t.close());

  const start = async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/code',
      headers: { 'user-agent': 'fleece-cli/1.0 (linux)' },
      payload: { client_id: 'fleece-cli' },
      remoteAddress: '192.0.2.7',
    });
    expect(res.statusCode).toBe(200);
    return DeviceAuthorizationResponse.parse(res.json());
  };
  const poll = (deviceCode: string, clientId = 'fleece-cli') =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/device/token',
      payload: { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: clientId },
    });
  const decide = (userCode: string, decision: 'approve' | 'deny', remoteAddress = '198.51.100.1') =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/device/decision',
      headers: { cookie, origin: originOf(t) },
      payload: { userCode, decision },
      remoteAddress,
    });
  const lookup = (userCode: string, remoteAddress = '198.51.100.1') =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/device/lookup',
      headers: { cookie, origin: originOf(t) },
      payload: { userCode },
      remoteAddress,
    });

  it('answers with codes, URIs, a lifetime of 600–900 s and a 5 s interval', async () => {
    const grant = await start();
    expect(grant.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(grant.verification_uri).toBe('https://fleece.example/device');
    expect(grant.verification_uri_complete).toBe(
      `https://fleece.example/device?user_code=${grant.user_code}`,
    );
    expect(grant.expires_in).toBeGreaterThanOrEqual(600);
    expect(grant.expires_in).toBeLessThanOrEqual(900);
    expect(grant.interval).toBe(5);
    const rows = await t.db.ownerQuery<{ device_code_hash: string }>(
      'select device_code_hash from device_authorizations',
    );
    expect(rows).toEqual([
      { device_code_hash: createHash('sha256').update(grant.device_code).digest('hex') },
    ]);
  });

  it('refuses an unknown client with invalid_client (401)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/code',
      payload: { client_id: 'other' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('matches the user code without regard to case or hyphen', () => {
    expect(normaliseUserCode('wdjb-mjht')).toBe('WDJBMJHT');
    expect(normaliseUserCode('WDJBMJHT')).toBe('WDJBMJHT');
    expect(normaliseUserCode(' wdjb mjht ')).toBe('WDJBMJHT');
    expect(normaliseUserCode('WDJB-MJHA')).toBeUndefined();
  });

  it('answers authorization_pending until approved, then tokens once, then invalid_grant', async () => {
    const grant = await start();
    const pending = await poll(grant.device_code);
    expect(pending.statusCode).toBe(400);
    expect(pending.json()).toEqual({ error: 'authorization_pending', error_description: expect.any(String) });
    const found = await lookup(grant.user_code.toLowerCase().replace('-', ''));
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({
      userCode: grant.user_code,
      clientId: 'fleece-cli',
      requestIp: '192.0.2.7',
      requestUserAgent: 'fleece-cli/1.0 (linux)',
    });
    expect((await decide(grant.user_code, 'approve')).json()).toEqual({ status: 'approved' });
    t.clock.advance(5_000);
    const ok = await poll(grant.device_code);
    expect(ok.statusCode).toBe(200);
    const tokens = TokenResponse.parse(ok.json());
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(3600);
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.json().user.email).toBe('device@example.test');
    t.clock.advance(5_000);
    const again = await poll(grant.device_code);
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toBe('invalid_grant');
    const actions = (await auditEvents(t)).map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toContain('auth.device.authorized:success');
    expect(actions.filter((a) => a === 'auth.login.succeeded:success')).toHaveLength(2);
  });

  it('answers slow_down to a poll inside the interval, and adds 5 s for every later poll', async () => {
    const grant = await start();
    expect((await poll(grant.device_code)).json().error).toBe('authorization_pending');
    t.clock.advance(2_000);
    expect((await poll(grant.device_code)).json().error).toBe('slow_down');
    // The interval is now 10 s: 6 s later is still too soon.
    t.clock.advance(6_000);
    expect((await poll(grant.device_code)).json().error).toBe('slow_down');
    // Now 15 s.
    t.clock.advance(15_000);
    expect((await poll(grant.device_code)).json().error).toBe('authorization_pending');
    t.clock.advance(14_000);
    expect((await poll(grant.device_code)).json().error).toBe('slow_down');
  });

  it('answers access_denied after the user denies, and records auth.device.denied', async () => {
    const grant = await start();
    expect((await decide(grant.user_code, 'deny')).json()).toEqual({ status: 'denied' });
    const res = await poll(grant.device_code);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('access_denied');
    expect((await auditEvents(t)).map((e) => `${e.action}:${e.outcome}`)).toContain(
      'auth.device.denied:denied',
    );
    expect((await decide(grant.user_code, 'approve')).statusCode).toBe(404);
  });

  it('answers expired_token after the lifetime, even when approved', async () => {
    const grant = await start();
    await decide(grant.user_code, 'approve');
    t.clock.advance(grant.expires_in * 1000);
    const res = await poll(grant.device_code);
    expect(res.json().error).toBe('expired_token');
    expect((await lookup(grant.user_code)).statusCode).toBe(404);
  });

  it('answers invalid_grant for an unknown device code and invalid_client for an unknown client', async () => {
    const grant = await start();
    expect((await poll('nonsense')).json().error).toBe('invalid_grant');
    expect((await poll(grant.device_code, 'other-client')).json().error).toBe('invalid_client');
  });

  it('answers invalid_request naming the field of a bad body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/token',
      payload: { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'fleece-cli' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_request');
    expect(res.json().error_description).toMatch(/device_code/);
  });

  it('needs a signed-in browser to look up or decide a code', async () => {
    const grant = await start();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/decision',
      payload: { userCode: grant.user_code, decision: 'approve' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('locks an address out after 5 wrong codes, and a correct code does not lift it', async () => {
    const grant = await start();
    for (let i = 0; i < 5; i++) {
      expect((await lookup('BBBB-BBBB', '203.0.113.9')).statusCode).toBe(404);
    }
    const locked = await lookup(grant.user_code, '203.0.113.9');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(60);
    expect((await decide(grant.user_code, 'approve', '203.0.113.9')).statusCode).toBe(429);
    // Another address is not affected.
    expect((await lookup(grant.user_code, '203.0.113.10')).statusCode).toBe(200);
  });

  it('regression F4: 20 concurrent wrong codes from one address: exactly 5 are checked (404), 15 get 429', async () => {
    const grant = await start();
    const wrong = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? lookup('BBBB-BBBB', '203.0.113.20') : decide('BBBB-BBBB', 'approve', '203.0.113.20'),
    );
    const statuses = (await Promise.all(wrong)).map((res) => res.statusCode).sort();
    expect(statuses).toEqual([...Array(5).fill(404), ...Array(15).fill(429)]);
    expect((await lookup(grant.user_code, '203.0.113.20')).statusCode).toBe(429);
  });

  it('regression F4: a correct code gives its attempt back; only wrong codes use up the 5', async () => {
    const grant = await start();
    const ip = '203.0.113.21';
    for (let i = 0; i < 4; i++) expect((await lookup('BBBB-BBBB', ip)).statusCode).toBe(404);
    for (let i = 0; i < 3; i++) expect((await lookup(grant.user_code, ip)).statusCode).toBe(200);
    expect((await decide(grant.user_code, 'approve', ip)).statusCode).toBe(200);
    expect((await lookup('BBBB-BBBB', ip)).statusCode).toBe(404);
    expect((await lookup(grant.user_code, ip)).statusCode).toBe(429);
  });

  it.runIf(process.env.TEST_REDIS_URL)(
    'regression F4: the lock-out holds across two instances through Redis',
    async () => {
      await t.close();
      const env = { FLEECE_PUBLIC_URL: 'https://fleece.example', REDIS_URL: process.env.TEST_REDIS_URL! };
      t = await buildTestApp({ env });
      const other = await buildTestApp({ env, db: t.db });
      try {
        cookie = await signIn(t, 'device-redis@example.test');
        const ip = `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`;
        const guesses = Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : t).app.inject({
            method: 'POST',
            url: '/api/auth/device/lookup',
            headers: { cookie, origin: originOf(t) },
            payload: { userCode: 'BBBB-BBBB' },
            remoteAddress: ip,
          }),
        );
        const statuses = (await Promise.all(guesses)).map((res) => res.statusCode).sort();
        expect(statuses).toEqual([...Array(5).fill(404), ...Array(15).fill(429)]);
      } finally {
        await other.close();
      }
    },
  );
});
