import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readCredentialsFile, storeCredentials } from '../../credentials.js';
import { oauthCredential, runCli, SERVER, tempConfigHome } from '../../helpers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('fleece auth token', () => {
  it('prints the stored access token and nothing else', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    const result = await runCli(['auth', 'token', '--server', SERVER], { configHome: home });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'at_1\n', stderr: '' });
  });

  it('refreshes an access token that is about to expire, and stores the rotated pair', async () => {
    const home = await tempConfigHome();
    const now = Date.parse('2026-03-01T12:00:00.000Z');
    await storeCredentials(home, oauthCredential({ expiresAt: '2026-03-01T12:00:30.000Z' }));
    let body: unknown;
    server.use(
      http.post(`${SERVER}/api/auth/token`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({
          access_token: 'at_2',
          token_type: 'Bearer',
          expires_in: 900,
          refresh_token: 'rt_2',
        });
      }),
    );
    const result = await runCli(['auth', 'token', '--server', SERVER, '--json'], {
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
      env: { FLEECE_TOKEN: 'tok_env', FLEECE_BASE_URL: SERVER },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'tok_env\n' });
  });

  it('exits 3 without credentials', async () => {
    const result = await runCli(['auth', 'token', '--server', SERVER]);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
  });
});
