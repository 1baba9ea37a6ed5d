import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureServerBuild, freshness, hashInputs, INPUTS, readStamp, STAMP_FILE } from '../start.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('pnpm start: the server is rebuilt only when an input changed', () => {
  // A copy of the build's inputs (node_modules linked, not copied), so the real build runs without
  // touching the repository's own packages/server/dist.
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'fleece-start-'));
    for (const input of INPUTS) cpSync(path.join(repo, input), path.join(root, input), { recursive: true });
    for (const dir of ['', 'packages/server', 'packages/sdk']) {
      symlinkSync(path.join(repo, dir, 'node_modules'), path.join(root, dir, 'node_modules'), 'dir');
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const noBuild = () => {
    throw new Error('built although nothing changed');
  };

  it('is what the root start script runs before it execs the server (so Ctrl-C reaches the server alone)', () => {
    const manifest = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
    expect(manifest.scripts.start).toBe(
      'node scripts/start.mjs && exec node packages/server/dist/bin.js start',
    );
  });

  it('builds once without type declarations, then decides "no rebuild" while nothing changed', () => {
    const log = vi.fn();
    expect(ensureServerBuild({ root, log })).toEqual({
      built: true,
      reason: 'no build made by `pnpm start` yet',
    });
    const dist = path.join(root, 'packages/server/dist');
    expect(existsSync(path.join(dist, 'bin.js'))).toBe(true);
    expect(existsSync(path.join(dist, 'index.d.ts'))).toBe(false);
    expect(readStamp(root)?.outputs).toContain('bin.js');
    expect(log.mock.calls[0]).toEqual(['fleece: building the server: no build made by `pnpm start` yet…']);
    expect(log.mock.calls[1]?.[0]).toMatch(/^fleece: built the server in \d+\.\d s\.$/);

    const again = vi.fn();
    expect(ensureServerBuild({ root, build: noBuild, log: again })).toEqual({ built: false });
    expect(again.mock.calls).toEqual([
      ['fleece: the server build is up to date (no source changed since the last `pnpm start`).'],
    ]);
  });

  it('ignores a touched file whose content is the same', () => {
    const file = path.join(root, 'packages/server/src/bin.ts');
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(ensureServerBuild({ root, build: noBuild })).toEqual({ built: false });
  });

  it('rebuilds when a source of the server or of the bundled SDK changed, naming it', () => {
    const file = path.join(root, 'packages/sdk/src/index.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\n// changed\n`);
    const build = vi.fn();
    expect(ensureServerBuild({ root, build })).toEqual({
      built: true,
      reason: '1 file changed (packages/sdk/src/index.ts)',
    });
    expect(build).toHaveBeenCalledWith(root);
    // The stamp now records the new content: the next start does not build.
    expect(ensureServerBuild({ root, build: noBuild })).toEqual({ built: false });
  });

  it('rebuilds when a file was added or removed, or a file of the last build is missing', () => {
    const inputs = hashInputs(root);
    const stamp = readStamp(root)!;
    const added = { ...inputs, 'packages/server/src/new.ts': 'x' };
    expect(freshness(added, stamp, root)).toEqual({
      fresh: false,
      reason: '1 file added (packages/server/src/new.ts)',
    });
    const { 'packages/server/src/bin.ts': _, ...removed } = inputs;
    expect(freshness(removed, stamp, root)).toEqual({
      fresh: false,
      reason: '1 file removed (packages/server/src/bin.ts)',
    });
    unlinkSync(path.join(root, 'packages/server/dist/bin.js'));
    expect(freshness(inputs, stamp, root)).toEqual({
      fresh: false,
      reason: 'files of the last build are missing',
    });
    unlinkSync(path.join(root, STAMP_FILE));
    expect(freshness(inputs, readStamp(root), root)).toEqual({
      fresh: false,
      reason: 'no build made by `pnpm start` yet',
    });
  });

  it('names at most three files, then counts the rest', () => {
    const inputs = hashInputs(root);
    const files = Object.keys(inputs).slice(0, 5);
    const stamp = { version: 1, builtAt: '', outputs: [], inputs: { ...inputs } };
    for (const file of files) stamp.inputs[file] = 'old';
    stamp.outputs = [] as never[];
    expect(freshness(inputs, { ...stamp, outputs: ['../package.json'] }, root)).toEqual({
      fresh: false,
      reason: `5 files changed (${files.slice(0, 3).join(', ')} and 2 more)`,
    });
  });
});
