import { describe, expect, it } from 'vitest';
import {
  DEVICE_CODE_GRANT_TYPE,
  DeviceAuthorizationResponse,
  DeviceTokenRequest,
  OAuthErrorResponse,
  TokenRequest,
} from '../../src/contract/index.js';

describe('auth contract', () => {
  it('defaults the device polling interval to 5 s (RFC 8628 §3.2)', () => {
    const parsed = DeviceAuthorizationResponse.parse({
      device_code: 'dc',
      user_code: 'WDJB-MJHT',
      verification_uri: 'https://fleece.example/device',
      verification_uri_complete: 'https://fleece.example/device?user_code=WDJB-MJHT',
      expires_in: 600,
    });
    expect(parsed.interval).toBe(5);
  });

  it('accepts a device token request with the RFC 8628 grant type and rejects unknown fields', () => {
    const body = { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'dc', client_id: 'fleece-cli' };
    expect(DeviceTokenRequest.safeParse(body).success).toBe(true);
    expect(DeviceTokenRequest.safeParse({ ...body, extra: 1 }).success).toBe(false);
    expect(DeviceTokenRequest.safeParse({ ...body, grant_type: 'password' }).success).toBe(false);
  });

  it('tells token requests apart by grant_type', () => {
    expect(
      TokenRequest.parse({ grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'fleece-cli' })
        .grant_type,
    ).toBe('refresh_token');
    const exchange = {
      grant_type: 'authorization_code',
      code: 'c',
      redirect_uri: 'http://127.0.0.1:5000/cb',
      code_verifier: 'short',
      client_id: 'fleece-cli',
    };
    expect(TokenRequest.safeParse(exchange).success).toBe(false);
    expect(TokenRequest.safeParse({ ...exchange, code_verifier: 'a'.repeat(43) }).success).toBe(true);
  });

  it('knows the device flow error codes', () => {
    for (const error of ['authorization_pending', 'slow_down', 'access_denied', 'expired_token']) {
      expect(OAuthErrorResponse.safeParse({ error }).success).toBe(true);
    }
    expect(OAuthErrorResponse.safeParse({ error: 'made_up' }).success).toBe(false);
  });
});
