import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli, tempConfigHome } from '../helpers.js';

const run = promisify(execFile);

/** Completes the command line `line` (the cursor at its end) with the bash script, in a real bash. */
async function bashComplete(script: string, line: string): Promise<string[]> {
  const dir = await tempConfigHome();
  const file = join(dir, 'fleece.bash');
  await writeFile(file, script);
  const words = line.split(' ');
  const program = [
    `source ${JSON.stringify(file)}`,
    `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_fleece',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template.
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program]);
  return stdout.split('\n').filter(Boolean);
}

describe('fleece completion', () => {
  it('prints a bash script that completes commands, subcommands, options and values', async () => {
    const { exitCode, stdout } = await runCli(['completion', 'bash']);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^# bash completion for fleece/);
    expect(await bashComplete(stdout, 'fleece ')).toEqual(
      expect.arrayContaining([
        'login',
        'logout',
        'auth',
        'whoami',
        'health',
        'doctor',
        'completion',
        '--server',
      ]),
    );
    expect(await bashComplete(stdout, 'fleece lo')).toEqual(['login', 'logout']);
    expect(await bashComplete(stdout, 'fleece auth ')).toEqual(expect.arrayContaining(['status', 'token']));
    expect(await bashComplete(stdout, 'fleece --profile work auth s')).toEqual(['status']);
    expect(await bashComplete(stdout, 'fleece login --d')).toEqual(['--device']);
    expect(await bashComplete(stdout, 'fleece completion ')).toEqual(
      expect.arrayContaining(['bash', 'zsh', 'fish']),
    );
    expect(await bashComplete(stdout, 'fleece login --server ')).toEqual([]);
  });

  it('prints a zsh script for compdef', async () => {
    const { exitCode, stdout } = await runCli(['completion', 'zsh']);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^#compdef fleece\n/);
    expect(stdout).toContain("'login:log in to a Fleece server'");
    expect(stdout).toContain('compdef _fleece fleece');
  });

  it('prints a fish script', async () => {
    const { exitCode, stdout } = await runCli(['completion', 'fish']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(
      "complete -c fleece -n '__fish_use_subcommand' -a login -d 'log in to a Fleece server'\n",
    );
    expect(stdout).toContain(
      "complete -c fleece -n '__fish_seen_subcommand_from auth; and not __fish_seen_subcommand_from status token' -a status",
    );
    expect(stdout).toContain("complete -c fleece -n '__fish_seen_subcommand_from login' -l device -d ");
  });

  it('exits 2 for an unknown shell, listing the choices', async () => {
    const result = await runCli(['completion', 'powershell']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      "error: command-argument value 'powershell' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.",
    );
  });
});
