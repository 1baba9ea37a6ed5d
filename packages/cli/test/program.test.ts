import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('fleece', () => {
  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('prints help on stdout and exits 0 when run without arguments', async () => {
    const result = await runCli([]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: fleece [options] [command]');
    expect(result.stdout).toContain('login');
    expect(result.stdout).toContain(
      'Exit codes: 0 ok, 1 error, 2 usage or a refused value, 3 not authenticated, 4 permission or plan\n' +
        'limit, 5 rate limited, 6 not found, 7 audit log tampered with, 130 interrupted (see docs/cli.md).\n',
    );
    expect(result.stderr).toBe('');
  });

  it.each([
    'login',
    'logout',
    'auth',
    'auth status',
    'auth token',
    'whoami',
    'health',
    'doctor',
    'completion',
  ])('has --help with examples for `fleece %s`', async (command) => {
    const result = await runCli([...command.split(' '), '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Usage: fleece ${command}`);
    expect(result.stdout).toMatch(/\nExamples:\n {2}\$ \S/);
  });

  it('exits 2 for an unknown option, naming it and where to get help', async () => {
    const result = await runCli(['whoami', '--bogus']);
    expect(result).toMatchObject({
      exitCode: 2,
      stdout: '',
      stderr:
        "error: unknown option '--bogus'\nhint: add --help to the command for its usage and examples.\n",
    });
  });

  it('exits 2 for an unknown command and suggests the closest one', async () => {
    const result = await runCli(['wohami']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("error: unknown command 'wohami'\n(Did you mean whoami?)");
  });

  it('exits 2 for a malformed --server', async () => {
    const result = await runCli(['health', '--server', 'ftp://example.com']);
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: --server must be an http: or https: URL, got ftp:.\n' +
        "hint: Pass the server's address, such as http://127.0.0.1:3000 or https://fleece.example.com.\n",
    });
  });

  it('exits 2 for an invalid profile name', async () => {
    const result = await runCli(['whoami', '--profile', 'a b']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      'error: Invalid profile name "a b".\n' +
        'hint: Use letters, digits, ".", "_" and "-" (up to 64 characters), such as "work".\n',
    );
  });
});

describe('fleece command groups', () => {
  it('`fleece auth` without a subcommand prints its help on stderr and exits 2', async () => {
    const result = await runCli(['auth']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: fleece auth [options] [command]');
  });

  it('`fleece help auth` prints the help on stdout and exits 0', async () => {
    const result = await runCli(['help', 'auth']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: fleece auth [options] [command]');
  });
});
