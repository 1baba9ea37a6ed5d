import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../testkit/src/index.js';
import { runCli } from './helpers.js';

// Nothing answers: a command that needs no server must not reach one, and one that does fails fast.
useMsw();

/** stdin empty and not a terminal (as `</dev/null`), stdout piped, no credentials anywhere. */
const detached = { stdin: '', tty: false } as const;

describe('with </dev/null and no credentials', () => {
  it.each([
    ['whoami'],
    ['auth', 'status'],
    ['auth', 'token'],
    ['logout'],
    ['whoami', '--json'],
    ['auth', 'status', '--json'],
    ['audit', 'list'],
    ['audit', 'tail', '--follow'],
    ['audit', 'verify'],
    ['sessions', 'list'],
    ['sessions', 'revoke', '--others'],
    ['chat'],
    ['account', 'delete'],
    ['account', 'delete', '--cancel'],
    ['export'],
    ['account', 'consent'],
    ['account', 'consent', 'ai_processing', '--grant'],
  ])('`fleece %s` exits 3 without prompting', async (...args) => {
    const result = await runCli([...args, '--server', BASE_URL], detached);
    expect(result.exitCode).toBe(3);
    expect(result.asked).toEqual([]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: Not logged in to http:\/\/fleece\.test\.\nhint: /);
  });

  it('`fleece login` fails before any sign-in, naming --insecure-storage, without prompting', async () => {
    const result = await runCli(['login', '--server', BASE_URL], detached);
    expect(result.exitCode).toBe(2);
    expect(result.asked).toEqual([]);
    expect(result.opened).toEqual([]);
    expect(result.stderr).toContain('hint: Pass --insecure-storage');
  });

  it('`fleece login --with-token` exits 2 on the empty input', async () => {
    const result = await runCli(['login', '--with-token', '--server', BASE_URL], detached);
    expect(result.exitCode).toBe(2);
    expect(result.asked).toEqual([]);
  });
});
