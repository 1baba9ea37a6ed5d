import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_URL, meBody, problem, useMsw } from '../../../../testkit/src/index.js';
import { readCredentialsFile, storeCredentials } from '../../credentials.js';
import { oauthCredential, runCli, tempConfigHome } from '../../helpers.js';

// The credential is checked with GET /api/v1/me before it is printed; the bearer each check carried.
const checked: Array<string | null> = [];
const meOk = http.get(`${BASE_URL}/api/v1/me`, ({ request }) => {
  checked.push(request.headers.get('authorization'));
  return HttpResponse.json(meBody());
});
const server = useMsw(meOk);
afterEach(() => {
  checked.length = 0;
});

describe('fleece auth token', () => {
  it('prints the stored access token and nothing else', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    const result = await runCli(['auth', 'token', '--server', BASE_URL], { configHome: home });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'at_1\n', stderr: '' });
    expect(checked).toEqual(['Bearer at_1']);
  });

  it('refreshes an access token that is about to expire, and stores the rotated pair', async () => {
    const home = await tempConfigHome();
    const now = Date.parse('2026-03-01T12:00:00.000Z');
    await storeCredentials(home, oauthCredential({ expiresAt: '2026-03-01T12:00:30.000Z' }));
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({
          access_token: 'at_2',
          token_type: 'Bearer',
          expires_in: 900,
          refresh_token: 'rt_2',
        });
      }),
    );
    const result = await runCli(['auth', 'token', '--server', BASE_URL, '--json'], {
      configHome: home,
      now: () => now,
    });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      token: 'at_2',
      type: 'oauth',
      expiresAt: '2026-03-01T12:15:00.000Z',
    });
    expect(body).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt_1', client_id: 'fleece-cli' });
    expect((await readCredentialsFile(home))?.credentials).toEqual([
      oauthCredential({ accessToken: 'at_2', refreshToken: 'rt_2', expiresAt: '2026-03-01T12:15:00.000Z' }),
    ]);
  });

  it('prints FLEECE_TOKEN when it is set', async () => {
    const result = await runCli(['auth', 'token'], {
      env: { FLEECE_TOKEN: 'tok_env', FLEECE_BASE_URL: BASE_URL },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'tok_env\n' });
    expect(checked).toEqual(['Bearer tok_env']);
  });

  it.each([
    [
      'api_key_expired',
      'FLEECE_API_KEY has expired (http://fleece.test).',
      'Create a new API key and set FLEECE_API_KEY to it.',
    ],
    [
      'invalid_api_key',
      'FLEECE_API_KEY is not valid on http://fleece.test: it is revoked, unknown there, or mistyped.',
      'Check or replace the value of FLEECE_API_KEY.',
    ],
  ])(
    'regression: checks the key before printing it — %s exits 3 with the reason, printing nothing',
    async (code, message, hint) => {
      server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(401, code)));
      const result = await runCli(['auth', 'token'], {
        env: { FLEECE_API_KEY: 'flc_gone', FLEECE_BASE_URL: BASE_URL },
      });
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`error: ${message}\nhint: ${hint}\n`);
      expect(result.stderr).not.toContain('fleece login');
    },
  );

  it('regression: a stored login the server refused (and that cannot be refreshed) exits 3, the hint naming --server and --profile', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential({ profile: 'work', refreshToken: null }));
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(401, 'unauthenticated')));
    const result = await runCli(['auth', 'token', '--server', BASE_URL, '--profile', 'work'], {
      configHome: home,
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `error: The stored credentials were refused by ${BASE_URL} (profile work).\n` +
        `hint: Run \`fleece login --server ${BASE_URL} --profile work\` to log in again.\n`,
    );
  });

  it('exits 3 without credentials', async () => {
    const result = await runCli(['auth', 'token', '--server', BASE_URL]);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
  });
});
