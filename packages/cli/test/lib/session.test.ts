import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, problem, useMsw } from '../../../testkit/src/index.js';
import { readCredentialsFile, storeCredentials } from '../credentials.js';
import { oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const expiring = () => oauthCredential({ expiresAt: '2026-03-01T12:00:30.000Z' });

/**
 * A token endpoint with refresh token rotation and reuse detection, like the server's: each refresh
 * token works once; using it again is `invalid_grant` (and would revoke the session).
 */
function rotatingServer() {
  let generation = 1;
  const refreshes: string[] = [];
  server.use(
    http.post(`${BASE_URL}/api/auth/token`, async ({ request }) => {
      const { refresh_token } = (await request.json()) as { refresh_token: string };
      refreshes.push(refresh_token);
      if (refresh_token !== `rt_${generation}`) {
        return HttpResponse.json(
          { error: 'invalid_grant' },
          { status: 400, headers: { 'x-request-id': 'req_reuse' } },
        );
      }
      generation++;
      return HttpResponse.json({
        access_token: `at_${generation}`,
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: `rt_${generation}`,
      });
    }),
    http.get(`${BASE_URL}/api/v1/me`, ({ request }) =>
      request.headers.get('authorization') === `Bearer at_${generation}`
        ? HttpResponse.json(meBody())
        : problem(401, 'unauthenticated'),
    ),
  );
  return { refreshes };
}

describe('transparent refresh', () => {
  it('two processes refreshing at once do not log each other out: one refreshes, the other reuses it', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, expiring());
    const { refreshes } = rotatingServer();
    const run = () =>
      runCli(['whoami', '--server', BASE_URL, '--verbose'], { configHome: home, now: () => NOW });
    const [a, b] = await Promise.all([run(), run()]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect([a.stdout, b.stdout]).toEqual(['ada@example.com\n', 'ada@example.com\n']);
    expect(refreshes).toEqual(['rt_1']);
    // Both saw rt_1 expiring; under the lock, the second re-read the store and took the first one's tokens.
    const reused = [a, b].filter((r) =>
      r.stderr.includes('Another fleece process refreshed the credentials: using its tokens.'),
    );
    expect(reused).toHaveLength(1);
    expect((await readCredentialsFile(home))?.credentials[0]).toMatchObject({
      accessToken: 'at_2',
      refreshToken: 'rt_2',
    });
  });

  it('refreshes and retries once when the server refuses an access token that looked valid', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    const { refreshes } = rotatingServer();
    // at_1 is refused (the server says generation 1's token is old only after a refresh), so make it stale:
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, ({ request }) =>
        request.headers.get('authorization') === 'Bearer at_2'
          ? HttpResponse.json(meBody())
          : problem(401, 'unauthenticated'),
      ),
    );
    const result = await runCli(['whoami', '--server', BASE_URL, '--verbose'], { configHome: home });
    expect(result.exitCode).toBe(0);
    expect(refreshes).toEqual(['rt_1']);
    expect(result.stderr).toMatch(
      /^GET \/api\/v1\/me → 401 .+\nThe access token was refused: refreshing it\.\nPOST \/api\/auth\/token \(refresh\) → 200 .+\nGET \/api\/v1\/me → 200 .+\n$/,
    );
  });

  it('treats invalid_grant as logged out (exit 3) when the refresh token is still the stored one', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, expiring());
    server.use(
      http.post(`${BASE_URL}/api/auth/token`, () =>
        HttpResponse.json(
          { error: 'invalid_grant' },
          { status: 400, headers: { 'x-request-id': 'req_gone' } },
        ),
      ),
    );
    const result = await runCli(['whoami', '--server', BASE_URL], { configHome: home, now: () => NOW });
    expect(result).toMatchObject({
      exitCode: 3,
      stderr:
        'error: Your session on http://fleece.test has ended (signed out, revoked or expired).\n' +
        'hint: Run `fleece login --server http://fleece.test` to log in again.\n' +
        'request id: req_gone\n',
    });
  });

  it('uses a fresh pair another process stored, without refreshing again', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, expiring());
    const { refreshes } = rotatingServer();
    // A first process refreshes; a second one started with the old entry must not reuse rt_1.
    const first = await runCli(['whoami', '--server', BASE_URL], { configHome: home, now: () => NOW });
    expect(first.exitCode).toBe(0);
    await storeCredentials(home, {
      ...expiring(),
      accessToken: 'at_2',
      refreshToken: 'rt_2',
      expiresAt: '2026-03-01T12:15:00.000Z',
    });
    const second = await runCli(['whoami', '--server', BASE_URL], { configHome: home, now: () => NOW });
    expect(second.exitCode).toBe(0);
    expect(refreshes).toEqual(['rt_1']);
  });
});
