import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import checkNode from '../check-node.cjs';

const script = fileURLToPath(new URL('../check-node.cjs', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/** What a newcomer on Node.js 20 sees, word for word (the binary's path varies). */
function expectedMessage(version: string, execPath: string): string {
  return `Fleece needs Node.js 22.12.0 or newer; this is Node.js ${version} (${execPath}).

Install Node.js 24 (LTS) with pnpm itself, then run \`pnpm install\` again in a new terminal:

    pnpm runtime set node 24 -g

or install Node.js 24 from https://nodejs.org/en/download (the installer, or your version manager:
\`nvm install 24\`, \`fnm install 24\`). Check with \`node --version\`.
`;
}

/** A Node.js binary older than 22.12 on this machine (Debian's /usr/bin/node is 20), if there is one. */
function oldNode(): { path: string; version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (!checkNode.satisfies(version, '22.12.0')) return { path, version };
    } catch {
      // not installed there
    }
  }
  return undefined;
}

describe('scripts/check-node.cjs (pnpm install on an old Node.js)', () => {
  it('is the root pnpm:devPreinstall script, so pnpm runs it before fetching anything, and reads engines.node', () => {
    const manifest = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    expect(manifest.scripts['pnpm:devPreinstall']).toBe('node scripts/check-node.cjs');
    expect(manifest.engines.node).toBe('>=22.12.0');
  });

  it('fails with exit code 1 and says which Node.js is needed and how to get it (pretended v20.20.2)', () => {
    const result = spawnSync(process.execPath, [script, '--pretend-version=v20.20.2'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(expectedMessage('v20.20.2', process.execPath));
  });

  const old = oldNode();
  it.runIf(old)(`fails the same way when really run by an old Node.js (${old?.path} ${old?.version})`, () => {
    const result = spawnSync(old!.path, [script], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(expectedMessage(old!.version, old!.path));
  });

  it('passes silently on this Node.js and on the minimum itself', () => {
    for (const args of [[], ['--pretend-version=v22.12.0'], ['--pretend-version=24.0.0']]) {
      const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  it('compares versions numerically, field by field', () => {
    expect(checkNode.satisfies('v22.11.9', '22.12.0')).toBe(false);
    expect(checkNode.satisfies('v22.12.0', '22.12.0')).toBe(true);
    expect(checkNode.satisfies('v22.100.0', '22.12.0')).toBe(true);
    expect(checkNode.satisfies('v23.0.0', '22.12.0')).toBe(true);
    expect(checkNode.satisfies('v8.17.0', '22.12.0')).toBe(false);
    expect(checkNode.satisfies('v100.0.0', '22.12.0')).toBe(true);
    expect(checkNode.satisfies('not a version', '22.12.0')).toBe(false);
    expect(checkNode.minimumFromRange('>=22.12.0')).toBe('22.12.0');
    expect(() => checkNode.minimumFromRange('^22')).toThrow(
      'engines.node in package.json must read ">=X.Y.Z"',
    );
  });

  it('refuses an unknown argument with exit code 2', () => {
    const result = spawnSync(process.execPath, [script, '--nope'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'check-node: unknown argument "--nope" (the only one is --pretend-version=vX.Y.Z)\n',
    );
  });
});
