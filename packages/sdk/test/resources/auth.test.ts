import { HttpResponse, http } from 'msw';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  driveClock,
  observeSleeps,
  restoreClockAfterEach,
  until,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import {
  APIUserAbortError,
  BadRequestError,
  DEVICE_CODE_GRANT_TYPE,
  DeviceCodeExpiredError,
  type DeviceCodeGrant,
} from '../../src/index.js';
import { mswClient } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const TOKENS = { access_token: 'at_1', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt_1' };
const oauthError = (error: string) =>
  HttpResponse.json({ error }, { status: 400, headers: { 'x-request-id': `req_${error}` } });

const anonymous = () => mswClient({ auth: false, apiKey: undefined });

describe('client.auth.deviceAuthorization()', () => {
  it('posts the client id as JSON without a credential and returns the typed grant', async () => {
    let request: { body: unknown; authorization: string | null; type: string | null } | undefined;
    server.use(
      http.post(`${BASE_URL}/api/auth/device/code`, async ({ request: r }) => {
        request = {
          body: await r.json(),
          authorization: r.headers.get('authorization'),
          type: r.headers.get('content-type'),
        };
        return HttpResponse.json({
          device_code: 'dc_secret',
          user_code: 'WDJB-MJHT',
          verification_uri: 'http://127.0.0.1:3000/device',
          verification_uri_complete: 'http://127.0.0.1:3000/device?user_code=WDJB-MJHT',
          expires_in: 600,
        });
      }),
    );
    const grant = await mswClient().auth.deviceAuthorization({ scope: 'agents:run' });
    expect(request).toEqual({
      body: { client_id: 'fleece-cli', scope: 'agents:run' },
      authorization: null,
      type: 'application/json',
    });
    expect(grant).toEqual({
      device_code: 'dc_secret',
      user_code: 'WDJB-MJHT',
      verification_uri: 'http://127.0.0.1:3000/device',
      verification_uri_complete: 'http://127.0.0.1:3000/device?user_code=WDJB-MJHT',
      expires_in: 600,
      interval: 5,
    });
  });

  it('refuses a verification URI that is not http(s)', async () => {
    server.use(
      http.post(`${BASE_URL}/api/auth/device/code`, () =>
        HttpResponse.json({
          device_code: 'dc',
          user_code: 'U',
          verification_uri: 'javascript:alert(1)',
          verification_uri_complete: 'http://127.0.0.1:3000/device',
          expires_in: 600,
          interval: 5,
        }),
      ),
    );
    await expect(anonymous().auth.deviceAuthorization()).rejects.toMatchObject({ path: 'verification_uri' });
  });
});

describe('client.auth.pollDeviceToken() (fake timers)', () => {
  let sleeps: ReturnType<typeof observeSleeps>;
  let start: number;
  beforeEach(() => {
    useFakeClock();
    sleeps = observeSleeps();
    start = performance.now();
  });

  /** Answers each poll with the next response, recording when (monotonic ms since start) and what came. */
  function polls(responses: Array<() => Response>) {
    const calls: Array<{ at: number; body: unknown; key: string | null }> = [];
    server.use(
      http.post(`${BASE_URL}/api/auth/device/token`, async ({ request }) => {
        calls.push({
          at: performance.now() - start,
          body: await request.json(),
          key: request.headers.get('idempotency-key'),
        });
        return (responses[calls.length - 1] ?? (() => oauthError('authorization_pending')))();
      }),
    );
    return calls;
  }

  const grant: DeviceCodeGrant = { device_code: 'dc_secret', expires_in: 600, interval: 5 };

  it('waits the interval, keeps polling while pending, and adds 5 s for slow_down and every later poll', async () => {
    const calls = polls([
      () => oauthError('authorization_pending'),
      () => oauthError('slow_down'),
      () => oauthError('authorization_pending'),
      () => HttpResponse.json(TOKENS),
    ]);
    const onPoll = vi.fn();
    const tokens = await driveClock(anonymous().auth.pollDeviceToken(grant, { onPoll }), sleeps);
    expect(tokens).toEqual(TOKENS);
    expect(calls.map((c) => c.at)).toEqual([5_000, 10_000, 20_000, 30_000]);
    expect(sleeps.delays).toEqual([5_000, 5_000, 10_000, 10_000]);
    expect(onPoll.mock.calls).toEqual([
      [1, 5],
      [2, 5],
      [3, 10],
      [4, 10],
    ]);
    expect(calls[0]?.body).toEqual({
      grant_type: DEVICE_CODE_GRANT_TYPE,
      device_code: 'dc_secret',
      client_id: 'fleece-cli',
    });
    expect(new Set(calls.map((c) => c.key)).size).toBe(4);
  });

  it('adds 5 s again for each further slow_down', async () => {
    const calls = polls([
      () => oauthError('slow_down'),
      () => oauthError('slow_down'),
      () => HttpResponse.json(TOKENS),
    ]);
    await driveClock(anonymous().auth.pollDeviceToken(grant), sleeps);
    expect(calls.map((c) => c.at)).toEqual([5_000, 15_000, 30_000]);
  });

  it('defaults the interval to 5 s', async () => {
    const calls = polls([() => HttpResponse.json(TOKENS)]);
    await driveClock(anonymous().auth.pollDeviceToken({ device_code: 'dc', expires_in: 600 }), sleeps);
    expect(calls.map((c) => c.at)).toEqual([5_000]);
  });

  it.each(['access_denied', 'expired_token', 'invalid_grant'])('stops and throws on %s', async (code) => {
    const calls = polls([() => oauthError('authorization_pending'), () => oauthError(code)]);
    const error = await driveClock(anonymous().auth.pollDeviceToken(grant), sleeps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe(code);
    expect((error as BadRequestError).requestId).toBe(`req_${code}`);
    expect(calls).toHaveLength(2);
  });

  it('gives up when expires_in passes on the monotonic clock', async () => {
    const calls = polls([]);
    const error = await driveClock(
      anonymous().auth.pollDeviceToken({ device_code: 'dc', expires_in: 12, interval: 5 }),
      sleeps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCodeExpiredError);
    expect((error as DeviceCodeExpiredError).code).toBe('expired_token');
    expect((error as Error).message).toBe(
      'The device code expired 12 s after it was issued; call deviceAuthorization() to start again ' +
        '(request id req_authorization_pending)',
    );
    expect(calls.map((c) => c.at)).toEqual([5_000, 10_000]);
  });

  it('ignores wall-clock jumps', async () => {
    const calls = polls([
      () => {
        vi.setSystemTime(Date.now() + 86_400_000); // the wall clock jumps a day ahead…
        return oauthError('authorization_pending');
      },
      () => {
        vi.setSystemTime(Date.now() - 2 * 86_400_000); // …then two days back
        return oauthError('authorization_pending');
      },
      () => HttpResponse.json(TOKENS),
    ]);
    const tokens = await driveClock(
      anonymous().auth.pollDeviceToken({ device_code: 'dc', expires_in: 20, interval: 5 }),
      sleeps,
    );
    expect(tokens).toEqual(TOKENS);
    expect(calls.map((c) => c.at)).toEqual([5_000, 10_000, 15_000]);
  });

  it('stops with APIUserAbortError when the signal aborts during a wait', async () => {
    const calls = polls([]);
    const controller = new AbortController();
    const polling = anonymous().auth.pollDeviceToken(grant, { signal: controller.signal });
    await until(() => sleeps.pending === 1);
    controller.abort();
    await expect(polling).rejects.toBeInstanceOf(APIUserAbortError);
    expect(calls).toHaveLength(0);
  });
});

describe('client.auth.refreshToken() and exchangeAuthorizationCode()', () => {
  function tokenEndpoint() {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, async ({ request }) => {
        bodies.push(await request.json());
        expect(request.headers.get('authorization')).toBeNull();
        return HttpResponse.json({ ...TOKENS, refresh_token: 'rt_2' });
      }),
    );
    return bodies;
  }

  it('rotates a refresh token with grant_type=refresh_token', async () => {
    const bodies = tokenEndpoint();
    const tokens = await anonymous().auth.refreshToken({ refreshToken: 'rt_1' });
    expect(tokens.refresh_token).toBe('rt_2');
    expect(bodies).toEqual([{ grant_type: 'refresh_token', refresh_token: 'rt_1', client_id: 'fleece-cli' }]);
  });

  it('exchanges an authorization code with its PKCE verifier', async () => {
    const bodies = tokenEndpoint();
    await mswClient().auth.exchangeAuthorizationCode({
      code: 'code_1',
      codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      redirectUri: 'http://127.0.0.1:53682/callback',
      clientId: 'fleece-cli',
    });
    expect(bodies).toEqual([
      {
        grant_type: 'authorization_code',
        code: 'code_1',
        redirect_uri: 'http://127.0.0.1:53682/callback',
        code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        client_id: 'fleece-cli',
      },
    ]);
  });
});

describe('client.auth.revoke()', () => {
  it('posts the token (RFC 7009) without a credential, and resolves on 200', async () => {
    let request: { body: unknown; authorization: string | null } | undefined;
    server.use(
      http.post(`${BASE_URL}/api/auth/revoke`, async ({ request: r }) => {
        request = { body: await r.json(), authorization: r.headers.get('authorization') };
        return HttpResponse.json({});
      }),
    );
    await expect(mswClient().auth.revoke({ token: 'rt_1', tokenTypeHint: 'refresh_token' })).resolves.toEqual(
      {},
    );
    expect(request).toEqual({
      body: { token: 'rt_1', token_type_hint: 'refresh_token', client_id: 'fleece-cli' },
      authorization: null,
    });
  });

  it('rejects with the OAuth error code of a refused request', async () => {
    server.use(http.post(`${BASE_URL}/api/auth/revoke`, () => oauthError('invalid_request')));
    await expect(anonymous().auth.revoke({ token: 'x' })).rejects.toMatchObject({
      code: 'invalid_request',
      requestId: 'req_invalid_request',
    });
  });
});
