import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  BASE_URL,
  driveClock,
  FIXED_NOW,
  meBody,
  restoreClockAfterEach,
  useFakeClock,
  useMsw,
} from '../../../../testkit/src/index.js';
import { modeOf, readCredentialsFile } from '../../credentials.js';
import { memoryKeyring, NO_KEYCHAIN, runCli, tempConfigHome } from '../../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const TOKENS = { access_token: 'at_dev', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt_dev' };
const GRANT = {
  device_code: 'dc_secret',
  user_code: 'WDJB-MJHT',
  verification_uri: `${BASE_URL}/device`,
  verification_uri_complete: `${BASE_URL}/device?user_code=WDJB-MJHT`,
  expires_in: 900,
  interval: 5,
};

/** A device flow server: answers each poll with the next of `answers` and records when it came. */
function deviceServer(answers: Array<string | 'tokens'>) {
  const polls: number[] = [];
  let started = 0;
  server.use(
    http.post(`${BASE_URL}/api/auth/device/code`, () => {
      started = Date.now();
      return HttpResponse.json(GRANT);
    }),
    http.post(`${BASE_URL}/api/auth/device/token`, async ({ request }) => {
      polls.push(Date.now() - started);
      expect(await request.json()).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: 'dc_secret',
        client_id: 'fleece-cli',
      });
      const answer = answers.shift() ?? 'authorization_pending';
      if (answer === 'tokens') return HttpResponse.json(TOKENS);
      return HttpResponse.json(
        { error: answer },
        { status: 400, headers: { 'x-request-id': `req_${answer}` } },
      );
    }),
    http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())),
  );
  return { polls };
}

describe('fleece login --device', () => {
  it('shows the code and URL, polls with slow_down, and stores the tokens in the fallback file (0600 in 0700)', async () => {
    const home = await tempConfigHome();
    const { polls } = deviceServer(['authorization_pending', 'slow_down', 'tokens']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--device', '--insecure-storage', '--server', BASE_URL], { configHome: home }),
    );
    expect(polls).toEqual([5000, 10_000, 20_000]);
    const file = `${home}/fleece/credentials.json`;
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr:
        `! The OS keychain is not available here (${NO_KEYCHAIN}).\n` +
        `! Credentials will be stored in plaintext in ${file}, readable only by you (mode 0600).\n` +
        'First copy your one-time code: WDJB-MJHT\n' +
        `Then open ${BASE_URL}/device?user_code=WDJB-MJHT in a browser (or go to ${BASE_URL}/device and enter the code).\n` +
        'Waiting for approval…\n' +
        '✓ Logged in to http://fleece.test as ada@example.com.\n' +
        `Credentials stored in ${file}.\n`,
      opened: [],
    });
    expect((await readCredentialsFile(home))?.credentials).toEqual([
      {
        server: BASE_URL,
        profile: 'default',
        accessToken: 'at_dev',
        refreshToken: 'rt_dev',
        expiresAt: new Date(Date.parse('2026-03-01T12:00:00.000Z') + 20_000 + 900_000).toISOString(),
        tokenType: 'bearer',
      },
    ]);
    expect(await modeOf(home, 'fleece', 'credentials.json')).toBe('600');
    expect(await modeOf(home, 'fleece')).toBe('700');
  });

  it('opens the browser at the verification URI when a display is available', async () => {
    deviceServer(['tokens']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--device', '--server', BASE_URL], {
        env: { DISPLAY: ':0' },
        keyring: memoryKeyring(),
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.opened).toEqual([`${BASE_URL}/device?user_code=WDJB-MJHT`]);
    expect(result.stderr).toContain(
      `Then approve this device at ${BASE_URL}/device?user_code=WDJB-MJHT (opened in your browser).\n`,
    );
  });

  it('stores the tokens in the keychain, without a notice, when the keychain works', async () => {
    const home = await tempConfigHome();
    const keyring = memoryKeyring();
    deviceServer(['tokens']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--device', '--server', BASE_URL], { configHome: home, keyring }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stderr).not.toContain('plaintext');
    expect(result.stderr).toContain('Credentials stored in OS keychain (service "fleece-cli").\n');
    expect(JSON.parse(keyring.entries.get(`fleece-cli/default@${BASE_URL}`) ?? '{}')).toMatchObject({
      accessToken: 'at_dev',
      refreshToken: 'rt_dev',
    });
    expect(keyring.entries.has('fleece-cli/probe')).toBe(false);
    expect(await readCredentialsFile(home)).toBeUndefined();
  });

  it('exits 1 when the user denies the request', async () => {
    deviceServer(['access_denied']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--device', '--server', BASE_URL], { keyring: memoryKeyring() }),
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /error: The login was denied in the browser\.\nhint: Run `fleece login --server http:\/\/fleece\.test` to try again\.\nrequest id: req_access_denied\n$/,
    );
  });

  it('exits 1 when the code expires, saying how to get a new one', async () => {
    deviceServer(['expired_token']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--device', '--server', BASE_URL], { keyring: memoryKeyring() }),
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'error: The one-time code expired before it was approved.\n' +
        'hint: Run `fleece login --device --server http://fleece.test` to get a new code.\n',
    );
  });

  it('exits 130 when interrupted (Ctrl+C) while waiting', async () => {
    const controller = new AbortController();
    server.use(
      http.post(`${BASE_URL}/api/auth/device/code`, () => HttpResponse.json(GRANT)),
      http.post(`${BASE_URL}/api/auth/device/token`, () => {
        controller.abort();
        return HttpResponse.json({ error: 'authorization_pending' }, { status: 400 });
      }),
    );
    useFakeClock(FIXED_NOW);
    const run = runCli(['login', '--device', '--server', BASE_URL], {
      keyring: memoryKeyring(),
      signal: controller.signal,
    });
    const result = await driveClock(run);
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/\nInterrupted\.\n$/);
  });

  it('falls back to the device flow by itself over SSH, without opening a browser', async () => {
    deviceServer(['tokens']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--server', BASE_URL], {
        env: { SSH_CONNECTION: '10.0.0.1 5000 10.0.0.2 22', DISPLAY: ':0' },
        keyring: memoryKeyring(),
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.opened).toEqual([]);
    expect(result.stderr).toMatch(
      /^No browser here \(SSH session\): using the device code flow\.\nFirst copy/,
    );
  });

  it('falls back to the device flow on Linux without a display', async () => {
    deviceServer(['tokens']);
    useFakeClock(FIXED_NOW);
    const result = await driveClock(runCli(['login', '--server', BASE_URL], { keyring: memoryKeyring() }));
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(
      /^No browser here \(no DISPLAY or WAYLAND_DISPLAY\): using the device code flow\./,
    );
  });
});
