import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, useMsw } from '../../../../testkit/src/index.js';
import { storeCredentials } from '../../credentials.js';
import { memoryKeyring, oauthCredential, runCli, tempConfigHome } from '../../helpers.js';

const server = useMsw();

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const expiresAt = '2026-03-01T12:14:00.000Z';

describe('fleece auth status', () => {
  it('shows the user, plan, server, token expiry and the plaintext file it is stored in', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential({ expiresAt }));
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())));
    const result = await runCli(['auth', 'status', '--server', BASE_URL], {
      configHome: home,
      now: () => NOW,
    });
    expect(result).toMatchObject({
      exitCode: 0,
      stderr: '',
      stdout:
        'Server:   http://fleece.test\n' +
        'User:     Ada Lovelace <ada@example.com> (usr_123)\n' +
        'Plan:     Pro\n' +
        'Token:    access token, expires in 14 min (2026-03-01T12:14:00.000Z); refreshed automatically\n' +
        `Storage:  plaintext file ${home}/fleece/credentials.json (mode 0600)\n`,
    });
  });

  it('names the keychain when the login is stored there', async () => {
    const keyring = memoryKeyring();
    keyring.entries.set(
      `fleece-cli/work@${BASE_URL}`,
      JSON.stringify(oauthCredential({ profile: 'work', expiresAt })),
    );
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody({ user: { name: null } }))));
    const result = await runCli(['auth', 'status', '--server', BASE_URL, '--profile', 'work'], {
      keyring,
      now: () => NOW,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Server:   http://fleece.test (profile work)\n');
    expect(result.stdout).toContain('User:     ada@example.com (usr_123)\n');
    expect(result.stdout).toContain('Storage:  OS keychain (service "fleece-cli")\n');
  });

  it('names the environment variable when FLEECE_API_KEY is in use', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())));
    const result = await runCli(['auth', 'status', '--json'], {
      env: { FLEECE_API_KEY: 'flc_ci', FLEECE_BASE_URL: BASE_URL },
    });
    expect(JSON.parse(result.stdout)).toEqual({
      server: BASE_URL,
      profile: 'default',
      user: { id: 'usr_123', email: 'ada@example.com', name: 'Ada Lovelace', role: 'user' },
      plan: { id: 'pro', name: 'Pro' },
      credential: { type: 'api_key', storage: 'env', location: 'FLEECE_API_KEY', expiresAt: null },
    });
    expect(result.stdout).not.toContain('flc_ci');
  });

  it('exits 3 without credentials', async () => {
    const result = await runCli(['auth', 'status', '--server', BASE_URL]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('error: Not logged in to http://fleece.test.\n');
  });
});
