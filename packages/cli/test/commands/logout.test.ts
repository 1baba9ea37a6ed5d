import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  BASE_URL,
  driveClock,
  FIXED_NOW,
  restoreClockAfterEach,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { readCredentialsFile, storeCredentials } from '../credentials.js';
import { memoryKeyring, oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

function revokeServer() {
  const bodies: unknown[] = [];
  server.use(
    http.post(`${BASE_URL}/api/auth/revoke`, async ({ request }) => {
      bodies.push(await request.json());
      return HttpResponse.json({});
    }),
  );
  return bodies;
}

describe('fleece logout', () => {
  it('revokes the refresh token on the server, then deletes the stored credentials', async () => {
    const home = await tempConfigHome();
    await storeCredentials(
      home,
      oauthCredential(),
      oauthCredential({ profile: 'work', refreshToken: 'rt_work' }),
    );
    const bodies = revokeServer();
    const result = await runCli(['logout', '--server', BASE_URL], { configHome: home });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: '✓ Logged out of http://fleece.test.\n',
    });
    expect(bodies).toEqual([{ token: 'rt_1', token_type_hint: 'refresh_token', client_id: 'fleece-cli' }]);
    expect((await readCredentialsFile(home))?.credentials.map((c) => c.profile)).toEqual(['work']);
  });

  it('deletes a keychain entry', async () => {
    const keyring = memoryKeyring();
    keyring.entries.set(`fleece-cli/default@${BASE_URL}`, JSON.stringify(oauthCredential()));
    revokeServer();
    const result = await runCli(['logout', '--server', BASE_URL], { keyring });
    expect(result.exitCode).toBe(0);
    expect(keyring.entries.size).toBe(0);
  });

  it('deletes the local credentials even when the server cannot be reached, and exits 1 saying so', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    server.use(http.post(`${BASE_URL}/api/auth/revoke`, () => HttpResponse.error()));
    useFakeClock(FIXED_NOW);
    const result = await driveClock(runCli(['logout', '--server', BASE_URL], { configHome: home }));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^✓ Logged out of http:\/\/fleece\.test\.\nerror: The session could not be revoked on the server: Could not connect to http:\/\/fleece\.test: .+\nhint: The local credentials were deleted anyway\. Revoke the session from the sessions page of the Fleece web app\.\n$/,
    );
    expect((await readCredentialsFile(home))?.credentials).toEqual([]);
  });

  it('deletes a stored API key locally only, and says the key stays valid', async () => {
    const home = await tempConfigHome();
    await storeCredentials(
      home,
      oauthCredential({ accessToken: 'flc_k', refreshToken: null, expiresAt: null, tokenType: 'api_key' }),
    );
    const result = await runCli(['logout', '--server', BASE_URL], { configHome: home });
    expect(result).toMatchObject({
      exitCode: 0,
      stderr:
        '✓ Logged out of http://fleece.test.\n' +
        'The API key itself stays valid: revoke it on the Fleece web app when you no longer need it.\n',
    });
  });

  it('exits 3 when not logged in', async () => {
    const result = await runCli(['logout', '--server', BASE_URL]);
    expect(result).toMatchObject({
      exitCode: 3,
      stderr:
        'error: Not logged in to http://fleece.test.\n' +
        'hint: Run `fleece login --server http://fleece.test` to log in, or set FLEECE_API_KEY (CI, scripts).\n',
    });
  });
});
