import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  consentToCli,
  decideDevice,
  type RealServer,
  signInWithMagicLink,
  startRealServer,
} from '../../../testkit/src/index.js';
import { BIN, buildCli, fakeBrowser, runFleece, startFleece, tempHome } from './harness.js';

const run = promisify(execFile);
const ESC = '\u001b';
let server: RealServer;
let ptyHome: string;
let removePtyHome: (() => Promise<void>) | undefined;
const cleanups: Array<() => Promise<void>> = [];

// One server and one build for the whole file: both take seconds.
beforeAll(async () => {
  const [started, , pty] = await Promise.all([startRealServer(), buildCli(), tempHome()]);
  server = started;
  ptyHome = pty.home;
  removePtyHome = pty.cleanup;
}, 120_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await server?.close();
  await removePtyHome?.();
});

async function home(): Promise<string> {
  const h = await tempHome();
  cleanups.push(h.cleanup);
  return h.home;
}

/** Whether the server serves the device authorization endpoint yet (it is being built concurrently). */
async function serverHasDeviceFlow(): Promise<boolean> {
  const response = await fetch(`${server.url}/api/auth/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'fleece-cli' }),
  });
  return response.status !== 404;
}

// Generous timeouts: CI runs every project's tests at once on two cores.
describe('the built fleece binary against a real server (PGlite)', { timeout: 90_000 }, () => {
  it('prints its version', async () => {
    const result = await runFleece(['--version'], { home: await home() });
    expect(result).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('reports the health of the server, without ANSI codes when piped', async () => {
    const result = await runFleece(['health', '--server', server.url], { home: await home() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Status:      ok\n');
    expect(result.stdout).not.toContain('\u001b');
    const json = await runFleece(['health', '--json'], {
      home: await home(),
      env: { FLEECE_BASE_URL: server.url },
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ server: server.url, status: 'ok' });
  });

  it.each([['whoami'], ['auth', 'status'], ['auth', 'token'], ['logout']])(
    '`fleece %s` with </dev/null and no credentials exits 3 without prompting',
    async (...args) => {
      const result = await runFleece([...args, '--server', server.url], { home: await home() });
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: Not logged in to ${server.url}.\n` +
          `hint: Run \`fleece login --server ${server.url}\` to log in, or set FLEECE_API_KEY (CI, scripts).\n`,
      );
    },
  );

  it('exits 130 on Ctrl+C while waiting for approval, saying so', async (ctx) => {
    ctx.skip(!(await serverHasDeviceFlow()), 'POST /api/auth/device/code is not served yet');
    const login = startFleece(['login', '--device', '--insecure-storage', '--server', server.url], {
      home: await home(),
    });
    await login.waitForStderr(/Waiting for approval…\n/);
    login.kill('SIGINT');
    const result = await login.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/\nInterrupted\.\n$/);
  });

  it('logs in with the browser flow: BROWSER opens the sign-in page, consent redirects to the loopback', async (ctx) => {
    ctx.skip(!(await serverHasDeviceFlow()), 'the identity endpoints are not served yet');
    const dir = await home();
    const browser = await fakeBrowser(dir);
    const login = startFleece(['login', '--insecure-storage', '--server', server.url], {
      home: dir,
      env: { DISPLAY: ':0', BROWSER: browser.path },
    });
    await login.waitForStderr(/Waiting for you to sign in in the browser…\n/);
    const [authorizeUrl] = await browser.opened();
    expect(authorizeUrl).toMatch(new RegExp(`^${server.url}/api/auth/cli/authorize\\?`));
    const cookie = await signInWithMagicLink(server, 'grace@example.com');
    const redirectTo = await consentToCli(server, cookie, authorizeUrl!);
    expect(redirectTo).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    const page = await fetch(redirectTo);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Signed in to the Fleece CLI');
    const result = await login.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`✓ Logged in to ${server.url} as grace@example.com.\n`);
    expect(await runFleece(['whoami'], { home: dir })).toEqual({
      code: 0,
      stdout: 'grace@example.com\n',
      stderr: '',
    });
  });

  it('exits quietly when the reader closes the pipe early (`fleece … | head`)', async () => {
    const child = spawn(process.execPath, [BIN, 'completion', 'bash'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const [code] = (await once(child, 'close')) as [number];
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('logs in with the device flow (approved through the server by HTTP), then whoami, status, logout', async (ctx) => {
    ctx.skip(
      !(await serverHasDeviceFlow()),
      'POST /api/auth/device/code is not served yet: the identity endpoints are landing in packages/server; this test runs once they are',
    );
    const dir = await home();
    const login = startFleece(['login', '--device', '--insecure-storage', '--server', server.url], {
      home: dir,
    });
    const [, userCode] = await login.waitForStderr(/one-time code: ([A-Z]{4}-[A-Z]{4})\n/);
    const cookie = await signInWithMagicLink(server, 'ada@example.com');
    const decision = await decideDevice(server, cookie, userCode!, 'approve');
    expect(decision.status).toBe(200);
    const loggedIn = await login.done;
    expect(loggedIn.code).toBe(0);
    expect(loggedIn.stdout).toBe('');
    expect(loggedIn.stderr).toContain(`✓ Logged in to ${server.url} as ada@example.com.\n`);

    const whoami = await runFleece(['whoami'], { home: dir });
    expect(whoami).toEqual({ code: 0, stdout: 'ada@example.com\n', stderr: '' });

    const status = await runFleece(['auth', 'status', '--json'], { home: dir });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      server: server.url,
      profile: 'default',
      user: { email: 'ada@example.com' },
      credential: { type: 'oauth', storage: 'file' },
    });

    // Two processes find the access token expired at once. With refresh token rotation and reuse
    // detection on the server, a second use of the same refresh token would end the session: the lock
    // makes one process refresh and the other take its tokens.
    const file = join(dir, '.config', 'fleece', 'credentials.json');
    const before = JSON.parse(await readFile(file, 'utf8'));
    before.credentials[0].expiresAt = new Date(Date.now() - 1000).toISOString();
    await writeFile(file, JSON.stringify(before));
    const both = await Promise.all([
      runFleece(['whoami'], { home: dir }),
      runFleece(['whoami'], { home: dir }),
    ]);
    expect(both.map((r) => [r.code, r.stdout])).toEqual([
      [0, 'ada@example.com\n'],
      [0, 'ada@example.com\n'],
    ]);
    const after = JSON.parse(await readFile(file, 'utf8'));
    expect(after.credentials[0].refreshToken).not.toBe(before.credentials[0].refreshToken);
    expect(await runFleece(['whoami'], { home: dir })).toMatchObject({
      code: 0,
      stdout: 'ada@example.com\n',
    });
    const refreshToken = after.credentials[0].refreshToken as string;

    const logout = await runFleece(['logout'], { home: dir });
    expect(logout).toEqual({ code: 0, stdout: '', stderr: `✓ Logged out of ${server.url}.\n` });
    expect((await runFleece(['whoami'], { home: dir })).code).toBe(3);

    // The refresh token was revoked on the server, not only forgotten.
    const reuse = await fetch(`${server.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: 'fleece-cli',
      }),
    });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

/**
 * Runs the built binary under a pseudo-terminal with util-linux `script`, so stdin, stdout and stderr are
 * a TTY, and returns what the terminal received (stdout and stderr together).
 */
async function underPty(args: string[], env: Record<string, string> = {}): Promise<string> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // `script` gives the pty no size; a real terminal always has one.
  const { stdout } = await run('script', ['-qec', `stty cols 100 rows 30; exec ${command}`, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: ptyHome, TERM: 'xterm-256color', ...env },
  });
  return stdout;
}

describe('terminal rendering (built binary under a pty) against piped output', { timeout: 60_000 }, () => {
  it('draws a spinner and colours on a terminal', async () => {
    const screen = await underPty(['health', '--server', server.url]);
    expect(screen).toContain('\u001b[?25l'); // ora hides the cursor while spinning…
    expect(screen).toMatch(new RegExp(`⠋\\S* Checking ${server.url.replace(/\./g, '\\.')}…`)); // …draws a frame…
    expect(screen).toContain('\u001b[?25h'); // …and shows the cursor again.
    expect(screen).toContain('Status:      \u001b[32mok\u001b[39m');
  });

  it('prints neither spinner frames nor ANSI codes when piped', async () => {
    const result = await runFleece(['health', '--server', server.url], {
      home: ptyHome,
      env: { TERM: 'xterm-256color' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Status:      ok\n');
    expect(result.stdout + result.stderr).not.toContain('\u001b');
    expect(result.stdout + result.stderr).not.toContain('⠋');
  });

  it.each([
    ['CI=true', { CI: 'true' }],
    ['NO_COLOR=1', { NO_COLOR: '1' }],
  ])('prints no colour on a terminal with %s', async (_name, env) => {
    const screen = await underPty(['health', '--server', server.url], env);
    expect(screen).toContain('Status:      ok');
    expect(screen).not.toMatch(new RegExp(`${ESC}\\[3\\d?m`));
  });

  it('draws no spinner on a terminal that reports no size', async () => {
    const command = `'${process.execPath}' '${BIN}' health --server '${server.url}'`;
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: ptyHome, TERM: 'xterm-256color' },
    });
    expect(stdout).not.toContain('⠋');
    expect(stdout).toContain('Status:      \u001b[32mok\u001b[39m');
  });

  it('prints no spinner frames in CI even on a terminal', async () => {
    const screen = await underPty(['health', '--server', server.url], { CI: 'true' });
    expect(screen).not.toContain('⠋');
    expect(screen).not.toContain('\u001b[?25l');
  });
});
