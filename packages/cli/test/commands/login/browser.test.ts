import { createHash } from 'node:crypto';
import { HttpResponse, http, passthrough } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  driveClock,
  FIXED_NOW,
  meBody,
  restoreClockAfterEach,
  until,
  useFakeClock,
  useMsw,
} from '../../../../testkit/src/index.js';
import { memoryKeyring, runCli } from '../../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const TOKENS = { access_token: 'at_web', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt_web' };
const withDisplay = { env: { DISPLAY: ':0' }, keyring: memoryKeyring() };

/** Lets requests to the CLI's loopback receiver through msw to the real socket. */
function allowLoopback() {
  server.use(http.get(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()));
}

/** A browser that follows the sign-in: calls `respond` with the authorization URL the CLI opened. */
function browser(respond: (authorize: URL) => Promise<void>) {
  const opened: URL[] = [];
  return {
    opened,
    openBrowser: async (url: string) => {
      const authorize = new URL(url);
      opened.push(authorize);
      // The browser comes back later, not inside open().
      setImmediate(() => void respond(authorize));
    },
  };
}

/** Sends the browser to the loopback redirect URI with `params`. */
async function redirect(authorize: URL, params: Record<string, string>): Promise<Response> {
  const target = new URL(authorize.searchParams.get('redirect_uri')!);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return fetch(target);
}

describe('fleece login (browser, loopback + PKCE)', () => {
  it('opens the authorization URL, receives the code on 127.0.0.1 and exchanges it with the verifier', async () => {
    allowLoopback();
    let exchange: Record<string, string> | undefined;
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, async ({ request }) => {
        exchange = (await request.json()) as Record<string, string>;
        return HttpResponse.json(TOKENS);
      }),
      http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())),
    );
    let page: { status: number; headers: Headers; body: string } | undefined;
    const b = browser(async (authorize) => {
      const response = await redirect(authorize, {
        code: 'code_123',
        state: authorize.searchParams.get('state')!,
      });
      page = { status: response.status, headers: response.headers, body: await response.text() };
    });
    const result = await runCli(['login', '--server', BASE_URL], {
      ...withDisplay,
      openBrowser: b.openBrowser,
    });
    expect(result.exitCode).toBe(0);

    const [authorize] = b.opened;
    expect(`${authorize?.origin}${authorize?.pathname}`).toBe(`${BASE_URL}/api/auth/cli/authorize`);
    const q = Object.fromEntries(authorize!.searchParams);
    expect(q).toMatchObject({
      client_id: 'fleece-cli',
      response_type: 'code',
      code_challenge_method: 'S256',
    });
    expect(q.redirect_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(exchange).toMatchObject({
      grant_type: 'authorization_code',
      code: 'code_123',
      redirect_uri: q.redirect_uri,
      client_id: 'fleece-cli',
    });
    expect(createHash('sha256').update(exchange!.code_verifier!).digest('base64url')).toBe(q.code_challenge);

    expect(page?.status).toBe(200);
    expect(page?.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page?.headers.get('content-security-policy')).toBe(
      "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page?.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page?.body).toContain('<h1>Signed in to the Fleece CLI</h1>');
    expect(page?.body).not.toMatch(/<script/i);

    expect(result.stderr).toBe(
      'Opening your browser to sign in.\n' +
        `If it does not open, visit: ${authorize}\n` +
        'Waiting for you to sign in in the browser…\n' +
        '✓ Logged in to http://fleece.test as ada@example.com.\n' +
        'Credentials stored in OS keychain (service "fleece-cli").\n',
    );
  });

  it('ignores a redirect with the wrong state and keeps waiting for the right one', async () => {
    allowLoopback();
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, () => HttpResponse.json(TOKENS)),
      http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())),
    );
    const statuses: number[] = [];
    const b = browser(async (authorize) => {
      statuses.push((await redirect(authorize, { code: 'evil', state: 'forged' })).status);
      statuses.push((await redirect(authorize, { code: 'evil' })).status);
      statuses.push(
        (await redirect(authorize, { code: 'good', state: authorize.searchParams.get('state')! })).status,
      );
    });
    const result = await runCli(['login', '--server', BASE_URL], {
      ...withDisplay,
      openBrowser: b.openBrowser,
    });
    expect(result.exitCode).toBe(0);
    expect(statuses).toEqual([400, 400, 200]);
    expect(result.stderr).toContain(
      '! Ignored a sign-in response that does not belong to this login (state mismatch).\n'.repeat(2),
    );
  });

  it('exits 1 when the sign-in is refused in the browser', async () => {
    allowLoopback();
    const b = browser(async (authorize) => {
      await redirect(authorize, { error: 'access_denied', state: authorize.searchParams.get('state')! });
    });
    const result = await runCli(['login', '--server', BASE_URL], {
      ...withDisplay,
      openBrowser: b.openBrowser,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /error: The sign-in was not completed in the browser \(access_denied\)\.\nhint: Run `fleece login --server http:\/\/fleece\.test` to try again\.\n$/,
    );
  });

  it('exits 1 when the server refuses the code', async () => {
    allowLoopback();
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, () =>
        HttpResponse.json(
          { error: 'invalid_grant' },
          { status: 400, headers: { 'x-request-id': 'req_exchange' } },
        ),
      ),
    );
    const b = browser(async (authorize) => {
      await redirect(authorize, { code: 'used', state: authorize.searchParams.get('state')! });
    });
    const result = await runCli(['login', '--server', BASE_URL], {
      ...withDisplay,
      openBrowser: b.openBrowser,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /error: The server refused the sign-in code\.\n.*\nrequest id: req_exchange\n$/,
    );
  });

  it.each([
    [[], 300],
    [['--timeout', '90s'], 90],
  ])('gives up after the timeout (%j)', async (flags, seconds) => {
    let opened = false;
    useFakeClock(FIXED_NOW);
    const run = runCli(['login', '--server', BASE_URL, ...flags], {
      ...withDisplay,
      openBrowser: async () => {
        opened = true;
      },
    });
    await until(() => opened);
    await vi.advanceTimersByTimeAsync(seconds * 1000 - 1);
    await vi.advanceTimersByTimeAsync(1);
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `error: No sign-in arrived from the browser within ${seconds} s\\.\\nhint: Run \`fleece login --server http://fleece\\.test\` again, or \`fleece login --device --server http://fleece\\.test\` to sign in from another device\\.\\n$`,
      ),
    );
  });

  it('exits 2 for a malformed --timeout', async () => {
    const result = await runCli(['login', '--server', BASE_URL, '--timeout', 'soon'], withDisplay);
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Invalid --timeout "soon".\nhint: Give a duration such as 90s, 5m or 300 (seconds), at most 1h.\n',
    });
  });

  it('falls back to the device flow when the browser cannot be opened', async () => {
    server.use(
      http.post(`${BASE_URL}/api/auth/device/code`, () =>
        HttpResponse.json({
          device_code: 'dc',
          user_code: 'BCDF-GHJK',
          verification_uri: `${BASE_URL}/device`,
          verification_uri_complete: `${BASE_URL}/device?user_code=BCDF-GHJK`,
          expires_in: 900,
          interval: 1,
        }),
      ),
      http.post(`${BASE_URL}/api/auth/device/token`, () => HttpResponse.json(TOKENS)),
      http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())),
    );
    useFakeClock(FIXED_NOW);
    const result = await driveClock(
      runCli(['login', '--server', BASE_URL], {
        ...withDisplay,
        openBrowser: async () => {
          throw new Error('spawn xdg-open ENOENT');
        },
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(
      'Opening your browser to sign in.\n' +
        '! Could not open a browser (spawn xdg-open ENOENT): using the device code flow instead.\n' +
        'First copy your one-time code: BCDF-GHJK\n' +
        `Then open ${BASE_URL}/device?user_code=BCDF-GHJK in a browser (or go to ${BASE_URL}/device and enter the code).\n`,
    );
  });

  it('refuses while FLEECE_API_KEY is set, explaining why (exit 2, usage)', async () => {
    const result = await runCli(['login', '--server', BASE_URL], { env: { FLEECE_API_KEY: 'flc_x' } });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: FLEECE_API_KEY is set: it overrides stored credentials, so a login would not be used.\n' +
        'hint: Unset FLEECE_API_KEY to log in with stored credentials (`unset FLEECE_API_KEY`).\n',
    });
  });
});
