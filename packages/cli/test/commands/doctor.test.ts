import { chmod } from 'node:fs/promises';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, healthBody, meBody, useMsw } from '../../../testkit/src/index.js';
import { storeCredentials } from '../credentials.js';
import { memoryKeyring, NO_KEYCHAIN, oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

function healthy(date = new Date(NOW).toUTCString()) {
  server.use(
    http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(healthBody('ok'), { headers: { date } })),
    http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())),
  );
}

type Check = { id: string; status: string; summary: string; fix?: string };
const byId = (stdout: string) =>
  Object.fromEntries((JSON.parse(stdout).checks as Check[]).map((c) => [c.id, c])) as Record<string, Check>;

describe('fleece doctor', () => {
  it('reports every check, warning about the missing keychain and the missing login', async () => {
    healthy();
    const result = await runCli(['doctor', '--server', BASE_URL], { now: () => NOW });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`✓ CLI          fleece 0.1.0 on Node.js ${process.version} (linux)`);
    expect(lines[1]).toMatch(/^✓ Server {7}http:\/\/fleece\.test answers: ok, version 0\.1\.0, in \d+ ms$/);
    expect(lines[2]).toBe('✓ Clock        within 1 s of the server');
    expect(lines[3]).toMatch(
      new RegExp(
        `^! Keychain     the OS keychain is not available \\(${NO_KEYCHAIN.replace(/[()]/g, '\\$&')}\\); logins are stored in .+credentials\\.json \\(plaintext\\) when allowed$`,
      ),
    );
    expect(result.stdout).toContain('! Credentials  not logged in to http://fleece.test\n');
    expect(result.stdout).toContain('✓ Proxy        no proxy configured\n');
  });

  it('prints a stable JSON shape', async () => {
    healthy();
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential({ expiresAt: '2026-03-01T12:14:00.000Z' }));
    const result = await runCli(['doctor', '--server', BASE_URL, '--json'], {
      configHome: home,
      now: () => NOW,
      keyring: memoryKeyring(),
    });
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ ok: true, server: BASE_URL });
    expect(json.checks.map((c: Check) => [c.id, c.status])).toEqual([
      ['cli', 'ok'],
      ['server', 'ok'],
      ['clock', 'ok'],
      ['keychain', 'ok'],
      ['credentials', 'ok'],
      ['proxy', 'ok'],
    ]);
    expect(byId(result.stdout).credentials?.summary).toBe(
      `ada@example.com, from ${home}/fleece/credentials.json, token expires in 14 min`,
    );
  });

  it('warns about clock skew beyond 30 s', async () => {
    healthy(new Date(NOW + 95_000).toUTCString());
    const result = await runCli(['doctor', '--server', BASE_URL, '--json'], { now: () => NOW });
    expect(byId(result.stdout).clock).toEqual({
      id: 'clock',
      status: 'warn',
      summary: '95 s behind the server',
      fix: 'Synchronise the clock (NTP): token expiry times are computed from it.',
    });
  });

  it('fails (exit 1) when the server cannot be reached', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.error()));
    const result = await runCli(['doctor', '--server', BASE_URL, '--json'], { now: () => NOW });
    expect(result.exitCode).toBe(1);
    expect(byId(result.stdout).server).toMatchObject({ status: 'fail' });
    expect(byId(result.stdout).server?.summary).toMatch(/^Could not connect to http:\/\/fleece\.test: /);
    expect(result.stderr).toBe('');
  });

  it('fails when the plaintext credentials file is readable by others', async () => {
    healthy();
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    await chmod(`${home}/fleece/credentials.json`, 0o644);
    const result = await runCli(['doctor', '--server', BASE_URL, '--json'], {
      configHome: home,
      now: () => NOW,
    });
    expect(result.exitCode).toBe(1);
    expect(byId(result.stdout).credentials).toEqual({
      id: 'credentials',
      status: 'fail',
      summary: `${home}/fleece/credentials.json is readable by other users (file 644, directory 700)`,
      fix: `Run: chmod 600 ${home}/fleece/credentials.json && chmod 700 ${home}/fleece`,
    });
  });

  it('shows the proxy that applies, with its password hidden, and NO_PROXY exemptions', async () => {
    healthy();
    // msw answers in-process: the request never reaches the proxy, and doctor says so (it used to say
    // "reached through" from the variables alone). The built binary through a real proxy: proxy.e2e.test.ts.
    const through = await runCli(['doctor', '--server', BASE_URL, '--json'], {
      now: () => NOW,
      env: { HTTP_PROXY: 'http://user:secret@proxy.internal:3128' },
    });
    expect(byId(through.stdout).proxy).toEqual({
      id: 'proxy',
      status: 'warn',
      summary:
        'HTTP_PROXY=http://***@proxy.internal:3128; the request to http://fleece.test did not go through http://***@proxy.internal:3128',
      fix: 'Check HTTP_PROXY and NO_PROXY.',
    });
    expect(through.stdout).not.toContain('secret');
    const direct = await runCli(['doctor', '--server', BASE_URL, '--json'], {
      now: () => NOW,
      env: { http_proxy: 'http://proxy.internal:3128', NO_PROXY: '.test,localhost' },
    });
    expect(byId(direct.stdout).proxy?.summary).toBe(
      'http_proxy=http://proxy.internal:3128, NO_PROXY=.test,localhost; http://fleece.test is reached directly (NO_PROXY)',
    );
  });
});
