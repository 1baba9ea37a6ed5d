import { readFile } from 'node:fs/promises';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, problem, useMsw } from '../../../../testkit/src/index.js';
import { readCredentialsFile } from '../../credentials.js';
import { memoryKeyring, plain, runCli, tempConfigHome } from '../../helpers.js';

const server = useMsw();

/** A JWT-shaped access token whose `exp` is 2026-03-01T12:15:00Z (unsigned: the CLI never verifies it). */
const JWT = `e30.${Buffer.from(JSON.stringify({ sub: 'usr_123', exp: 1772367300 })).toString('base64url')}.sig`;

function meServer() {
  const seen: Array<string | null> = [];
  server.use(
    http.get(`${BASE_URL}/api/v1/me`, ({ request }) => {
      seen.push(request.headers.get('authorization'));
      return HttpResponse.json(meBody());
    }),
  );
  return seen;
}

describe('fleece login --with-token', () => {
  it('stores an flc_ value read from stdin as an API key, after checking it, without echoing it', async () => {
    const home = await tempConfigHome();
    const seen = meServer();
    const result = await runCli(['login', '--with-token', '--insecure-storage', '--server', BASE_URL], {
      configHome: home,
      stdin: 'flc_live_secret\n',
    });
    expect(result.exitCode).toBe(0);
    expect(seen).toEqual(['Bearer flc_live_secret']);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('flc_live_secret');
    expect(result.stderr).toContain('✓ Logged in to http://fleece.test as ada@example.com.\n');
    expect((await readCredentialsFile(home))?.credentials).toEqual([
      {
        server: BASE_URL,
        profile: 'default',
        accessToken: 'flc_live_secret',
        refreshToken: null,
        expiresAt: null,
        tokenType: 'api_key',
      },
    ]);
  });

  it('stores any other value as an access token, with the expiry from its JWT exp', async () => {
    const keyring = memoryKeyring();
    const seen = meServer();
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], {
      stdin: `${JWT}\n`,
      keyring,
    });
    expect(result.exitCode).toBe(0);
    expect(seen).toEqual([`Bearer ${JWT}`]);
    expect(JSON.parse(keyring.entries.get(`fleece-cli/default@${BASE_URL}`)!)).toEqual({
      server: BASE_URL,
      profile: 'default',
      accessToken: JWT,
      refreshToken: null,
      expiresAt: '2026-03-01T12:15:00.000Z',
      tokenType: 'bearer',
    });
  });

  it('exits 2 on an empty stdin, without a request', async () => {
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], { stdin: '  \n' });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: No token on standard input.\n' +
        'hint: Pipe the API key or token in: `fleece login --with-token < token.txt`.\n',
    });
  });

  it('exits 3 when the server refuses the token, and stores nothing', async () => {
    const home = await tempConfigHome();
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(401, 'unauthenticated')));
    const result = await runCli(['login', '--with-token', '--insecure-storage', '--server', BASE_URL], {
      configHome: home,
      stdin: 'flc_revoked',
    });
    expect(result).toMatchObject({
      exitCode: 3,
      stderr:
        'error: http://fleece.test refused the token.\n' +
        'hint: Check that the token is complete and not revoked or expired.\n' +
        'request id: req_unauthenticated\n',
    });
    expect(await readCredentialsFile(home)).toBeUndefined();
  });

  it('asks for the token with a masked prompt when stdin is a terminal', async () => {
    const seen = meServer();
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], {
      stdin: 'tty',
      tty: true,
      answers: ['flc_typed'],
      keyring: memoryKeyring(),
    });
    expect(result.exitCode).toBe(0);
    expect(result.asked).toEqual(['Paste your API key or access token:']);
    expect(seen).toEqual(['Bearer flc_typed']);
  });
});

describe('fleece login: replacing a login', () => {
  it('revokes the session of the login it replaces', async () => {
    const keyring = memoryKeyring();
    keyring.entries.set(
      `fleece-cli/default@${BASE_URL}`,
      JSON.stringify({
        server: BASE_URL,
        profile: 'default',
        accessToken: 'at_old',
        refreshToken: 'rt_old',
        expiresAt: null,
        tokenType: 'bearer',
      }),
    );
    meServer();
    const revoked: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/auth/revoke`, async ({ request }) => {
        revoked.push(await request.json());
        return HttpResponse.json({});
      }),
    );
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], {
      stdin: 'flc_new',
      keyring,
    });
    expect(result.exitCode).toBe(0);
    expect(revoked).toEqual([{ token: 'rt_old', token_type_hint: 'refresh_token', client_id: 'fleece-cli' }]);
    expect(JSON.parse(keyring.entries.get(`fleece-cli/default@${BASE_URL}`)!)).toMatchObject({
      accessToken: 'flc_new',
    });
  });

  it('prints nothing but warnings and errors with --quiet', async () => {
    meServer();
    const result = await runCli(['login', '--with-token', '--quiet', '--server', BASE_URL], {
      stdin: 'flc_k',
      keyring: memoryKeyring(),
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });
});

describe('fleece login: plaintext fallback consent', () => {
  it('refuses the plaintext file without a terminal unless --insecure-storage is given (exit 2)', async () => {
    const home = await tempConfigHome();
    meServer();
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], {
      configHome: home,
      stdin: 'flc_k',
    });
    expect(result.exitCode).toBe(2);
    expect(result.asked).toEqual([]);
    expect(result.stderr).toContain(
      "! The OS keychain is not available here (Couldn't access platform storage: AccessDenied).\n",
    );
    expect(result.stderr).toContain(
      'error: Plaintext credential storage was not allowed.\n' +
        'hint: Pass --insecure-storage to store them in the file anyway, or use FLEECE_API_KEY in CI instead of logging in.\n',
    );
    expect(await readCredentialsFile(home)).toBeUndefined();
  });

  it('refuses it in CI even on a terminal', async () => {
    meServer();
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], {
      stdin: 'tty',
      tty: true,
      env: { CI: 'true' },
    });
    expect(result.exitCode).toBe(2);
    expect(result.asked).toEqual([]);
  });

  it('asks once on a terminal (default No); a no is kept and not asked again, --insecure-storage overrides it', async () => {
    const home = await tempConfigHome();
    meServer();
    const file = `${home}/fleece/credentials.json`;
    const asked: { message: string; default: boolean }[] = [];
    const no = await runCli(['login', '--with-token', '--server', BASE_URL], {
      configHome: home,
      stdin: 'tty',
      tty: true,
      answers: ['flc_k', false],
      onConfirm: (question) => asked.push(question),
    });
    expect(no.exitCode).toBe(1);
    expect(no.asked).toEqual([
      'Paste your API key or access token:',
      `Store the credentials in plaintext in ${file}?`,
    ]);
    expect(asked).toEqual([{ message: `Store the credentials in plaintext in ${file}?`, default: false }]);
    expect(await readCredentialsFile(home)).toBeUndefined();
    const config = JSON.parse(await readFile(`${home}/fleece/config.json`, 'utf8'));
    expect(config.plaintextCredentials).toMatchObject({ allowed: false });

    // Answered: not asked again, refused with how to change it.
    const again = await runCli(['login', '--with-token', '--server', BASE_URL], {
      configHome: home,
      stdin: 'tty',
      tty: true,
      answers: ['flc_k'],
    });
    expect(again.exitCode).toBe(1);
    expect(again.asked).toEqual(['Paste your API key or access token:']);
    expect(plain(again.stderr)).toMatch(
      /error: Plaintext credential storage was not allowed \(you answered no on \d{4}-\d{2}-\d{2}\)\.\n/,
    );
    expect(plain(again.stderr)).toContain(
      `hint: Pass --insecure-storage to store them in the file this once, or remove "plaintextCredentials" from ${home}/fleece/config.json to be asked again.\n`,
    );
    expect(await readCredentialsFile(home)).toBeUndefined();

    const forced = await runCli(['login', '--with-token', '--server', BASE_URL, '--insecure-storage'], {
      configHome: home,
      stdin: 'tty',
      tty: true,
      answers: ['flc_k'],
    });
    expect(forced.exitCode).toBe(0);
    expect((await readCredentialsFile(home))?.credentials).toHaveLength(1);
  });

  it('a yes is kept too: the next login stores in the file after the notice, without asking', async () => {
    const home = await tempConfigHome();
    meServer();
    const file = `${home}/fleece/credentials.json`;
    const yes = await runCli(['login', '--with-token', '--server', BASE_URL], {
      configHome: home,
      stdin: 'tty',
      tty: true,
      answers: ['flc_k', true],
    });
    expect(yes.exitCode).toBe(0);
    expect((await readCredentialsFile(home))?.credentials).toHaveLength(1);
    const next = await runCli(['login', '--with-token', '--server', BASE_URL, '--profile', 'work'], {
      configHome: home,
      stdin: 'tty',
      tty: true,
      answers: ['flc_k2'],
    });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.asked).toEqual(['Paste your API key or access token:']);
    expect(plain(next.stderr)).toContain(
      `! Credentials will be stored in plaintext in ${file}, readable only by you (mode 0600).\n`,
    );
    expect((await readCredentialsFile(home))?.credentials).toHaveLength(2);
    // The server of each profile is kept beside the answer.
    const config = JSON.parse(await readFile(`${home}/fleece/config.json`, 'utf8'));
    expect(config).toMatchObject({
      plaintextCredentials: { allowed: true },
      profiles: { work: { server: BASE_URL } },
    });
  });
});
