import * as client from 'openid-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { originOf, signIn } from '../helpers/identity.js';
import { freePort } from '../helpers/real-server.js';

/**
 * A standard OAuth client library (openid-client v6) against the real server listening on 127.0.0.1:
 * discovery by RFC 8414 metadata, the device grant (RFC 8628), refresh (RFC 6749 §6) and revocation
 * (RFC 7009), all over form-encoded requests as the library sends them.
 */
describe('openid-client against the server (RFC 8414, RFC 8628, RFC 6749 §6, RFC 7009)', () => {
  let t: TestApp;
  let url: string;
  beforeEach(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    t = await buildTestApp({ env: { FLEECE_PUBLIC_URL: url } });
    await t.app.listen({ host: '127.0.0.1', port });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await t.close();
  });

  it('discovers the server, signs in with the device grant, refreshes and revokes', async () => {
    const cookie = await signIn(t, 'openid-client@example.test');
    // Plain http is allowed for the loopback test server only, as the library's documentation says.
    const config = await client.discovery(new URL(url), 'fleece-cli', undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata()).toMatchObject({
      issuer: url,
      token_endpoint: `${url}/api/auth/token`,
      device_authorization_endpoint: `${url}/api/auth/device/code`,
      revocation_endpoint: `${url}/api/auth/revoke`,
    });

    const device = await client.initiateDeviceAuthorization(config, {});
    expect(device.verification_uri).toBe(`${url}/device`);
    expect(device.interval).toBe(5);
    const decided = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device/decision',
      headers: { cookie, origin: originOf(t) },
      payload: { userCode: device.user_code, decision: 'approve' },
    });
    expect(decided.json()).toEqual({ status: 'approved' });

    // The library waits `interval` (5 s) before its first poll: only that wait runs on fake time.
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const polling = client.pollDeviceAuthorizationGrant(config, device);
    await vi.advanceTimersByTimeAsync(5_000);
    vi.useRealTimers();
    const tokens = await polling;
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(3600);
    const me = async (access: string) =>
      (await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${access}` } })).status;
    expect(await me(tokens.access_token)).toBe(200);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(await me(refreshed.access_token)).toBe(200);

    await client.tokenRevocation(config, refreshed.refresh_token!);
    expect(await me(refreshed.access_token)).toBe(401);
    // The revoked family's refresh token is refused in the RFC 6749 §5.2 shape the library understands.
    const refused = await client.refreshTokenGrant(config, refreshed.refresh_token!).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect((refused as client.ResponseBodyError).error).toBe('invalid_grant');
  });
});
