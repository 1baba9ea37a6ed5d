import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, useMsw } from '../../../testkit/src/index.js';
import { modeOf, storeCredentials } from '../credentials.js';
import { memoryKeyring, oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();

describe('credential stores and configuration', () => {
  it('names a corrupt credentials file and says what to do', async () => {
    const home = await tempConfigHome();
    await mkdir(join(home, 'fleece'), { recursive: true });
    await writeFile(join(home, 'fleece', 'credentials.json'), '{ not json');
    const result = await runCli(['whoami', '--server', BASE_URL], { configHome: home });
    expect(result).toMatchObject({
      exitCode: 1,
      stderr: `error: The credentials file ${home}/fleece/credentials.json is not valid.\nhint: Delete it and run \`fleece login\` again.\n`,
    });
  });

  it('tightens a configuration directory that others can read to 0700 when writing credentials', async () => {
    const home = await tempConfigHome();
    await mkdir(join(home, 'fleece'), { recursive: true, mode: 0o755 });
    await storeCredentials(home, oauthCredential());
    expect(await modeOf(home, 'fleece')).toBe('700');
    expect(await modeOf(home, 'fleece', 'credentials.json')).toBe('600');
  });

  it('keeps one keychain entry per server and profile', async () => {
    const keyring = memoryKeyring();
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())));
    server.use(
      http.get('http://other.test/api/v1/me', () =>
        HttpResponse.json(meBody({ user: { email: 'grace@example.com' } })),
      ),
    );
    for (const [origin, profile, stdin] of [
      [BASE_URL, 'default', 'flc_a'],
      [BASE_URL, 'work', 'flc_b'],
      ['http://other.test', 'default', 'flc_c'],
    ] as const) {
      const result = await runCli(['login', '--with-token', '--server', origin, '--profile', profile], {
        stdin,
        keyring,
      });
      expect(result.exitCode).toBe(0);
    }
    expect([...keyring.entries.keys()].sort()).toEqual([
      'fleece-cli/default@http://fleece.test',
      'fleece-cli/default@http://other.test',
      'fleece-cli/work@http://fleece.test',
    ]);
  });

  it('chooses the server: --server, then FLEECE_BASE_URL, then the last login of the profile, then the default', async () => {
    const home = await tempConfigHome();
    const hits: string[] = [];
    for (const origin of [BASE_URL, 'http://env.test', 'http://saved.test', 'http://127.0.0.1:3000']) {
      server.use(
        http.get(`${origin}/api/v1/me`, () => {
          hits.push(origin);
          return HttpResponse.json(meBody());
        }),
      );
    }
    await mkdir(join(home, 'fleece'), { recursive: true });
    await writeFile(
      join(home, 'fleece', 'config.json'),
      JSON.stringify({ version: 1, profiles: { work: { server: 'http://saved.test' } } }),
    );
    const key = { FLEECE_API_KEY: 'flc_x' };
    await runCli(['whoami', '--server', BASE_URL], {
      configHome: home,
      env: { ...key, FLEECE_BASE_URL: 'http://env.test' },
    });
    await runCli(['whoami', '--profile', 'work'], {
      configHome: home,
      env: { ...key, FLEECE_BASE_URL: 'http://env.test' },
    });
    await runCli(['whoami', '--profile', 'work'], { configHome: home, env: key });
    await runCli(['whoami'], { configHome: home, env: key });
    expect(hits).toEqual([BASE_URL, 'http://env.test', 'http://saved.test', 'http://127.0.0.1:3000']);
  });

  it('records the server of a login as the profile default, atomically in config.json', async () => {
    const home = await tempConfigHome();
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())));
    await runCli(['login', '--with-token', '--server', BASE_URL, '--profile', 'work'], {
      configHome: home,
      stdin: 'flc_k',
      keyring: memoryKeyring(),
    });
    expect(JSON.parse(await readFile(join(home, 'fleece', 'config.json'), 'utf8'))).toEqual({
      version: 1,
      profiles: { work: { server: BASE_URL } },
    });
  });
});
