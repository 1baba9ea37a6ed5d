import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backend } from '../helpers/app.js';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const SECURITY = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');

/** The rows of the claims table: `| C12 | claim | implemented in | proved by |`. */
function claimRows(): { claim: number; proof: string; line: string }[] {
  return SECURITY.split('\n')
    .map((line) => line.match(/^\|\s*C(\d+)\s*\|(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => {
      const cells = m[2]!.split(/(?<!\\)\|/).map((c) => c.trim());
      return { claim: Number(m[1]), proof: cells[2] ?? '', line: m[0] };
    });
}

/** The Gaps section (from its heading to the end). */
function gaps(): string {
  const start = SECURITY.search(/^## Gaps/m);
  return start === -1 ? '' : SECURITY.slice(start);
}

/**
 * The tests a "proved by" cell names: segments separated by `;`, each a path in backticks, then `›` and
 * test names in `*…*` or `_…_`. A path without `packages/` is relative to the package of the last full
 * path in the cell (`packages/server` at first). A nested name is written `describe › test`; a name ending
 * in `…` is a prefix.
 */
function referencedTests(proof: string): { file: string; names: string[] }[] {
  let pkg = 'packages/server';
  const found: { file: string; names: string[] }[] = [];
  for (const segment of proof.split(';')) {
    const path = segment.match(/`((?:packages\/[^/`]+\/)?(?:test|e2e)\/[^`]+\.test\.ts)`/);
    if (!path) continue;
    let file = path[1]!;
    if (file.startsWith('packages/')) pkg = file.split('/').slice(0, 2).join('/');
    else file = `${pkg}/${file}`;
    const after = segment.slice(segment.indexOf(path[0]) + path[0].length);
    const names = after.includes('›')
      ? [...after.slice(after.indexOf('›') + 1).matchAll(/\*([^*]+)\*|(?<![\w`])_([^_]+)_(?![\w`])/g)].map(
          (m) => (m[1] ?? m[2]!).trim(),
        )
      : [];
    found.push({ file, names });
  }
  return found;
}

/**
 * The titles a file's parametrised tests (`it.each([...])('refuses %s', …)`) take: each `%s` template
 * filled with each string literal of the file (a superset of the real labels, which is enough to find one).
 */
function testTitles(text: string): string[] {
  const literals = [...text.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)].map((m) => m[1]!);
  const templates = literals.filter((l) => l.includes('%s'));
  return templates.flatMap((t) => literals.map((l) => t.replace('%s', l)));
}

describe.runIf(backend === 'pglite')('docs/security.md', () => {
  it('has a row for every claim C1–C36, or names it under Gaps', () => {
    const rows = new Set(claimRows().map((r) => r.claim));
    const missing = Array.from({ length: 36 }, (_, i) => i + 1).filter(
      (n) => !rows.has(n) && !new RegExp(`\\bC${n}\\b`).test(gaps()),
    );
    expect(missing.map((n) => `C${n}`)).toEqual([]);
  });

  it('names, in every row, test files that exist and test names that are in them', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const row of claimRows()) {
      for (const { file, names } of referencedTests(row.proof)) {
        const path = join(ROOT, file);
        if (!existsSync(path)) {
          problems.push(`C${row.claim}: no file ${file}`);
          continue;
        }
        const text = readFileSync(path, 'utf8');
        const titles = testTitles(text);
        for (const name of names) {
          checked++;
          for (const part of name.split(' › ')) {
            const prefix = /\s*…$/.test(part);
            const wanted = part.replace(/\s*…$/, '');
            const found =
              text.includes(wanted) || titles.some((t) => (prefix ? t.startsWith(wanted) : t === wanted));
            if (!found) problems.push(`C${row.claim}: ${file} has no test "${wanted}"`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('points to a SECURITY.md with a private contact (claim C35)', () => {
    const policy = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');
    expect(policy).toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/);
    expect(policy).toMatch(/privately/i);
    expect(policy).toContain('docs/security.md');
    expect(SECURITY).toMatch(/SECURITY\.md/);
  });
});
