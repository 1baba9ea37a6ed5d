import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProblemCode } from '@fleece/sdk/contract';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../src/errors.js';

/** The rows of the error table in docs/api.md ("## Errors"): code → status. */
function documentedCodes(): Map<string, number> {
  const api = readFileSync(fileURLToPath(new URL('../../../../docs/api.md', import.meta.url)), 'utf8');
  const section = api.slice(
    api.indexOf('\n## Errors\n'),
    api.indexOf('\n## ', api.indexOf('\n## Errors\n') + 1),
  );
  const rows = new Map<string, number>();
  for (const match of section.matchAll(/^\| `(\w+)` +\| (\d{3}) +\|/gm))
    rows.set(match[1]!, Number(match[2]));
  return rows;
}

describe('docs/api.md error table', () => {
  it('lists every problem code of src/errors.ts with its status, and no other', () => {
    const documented = documentedCodes();
    const expected = new Map(Object.entries(PROBLEMS).map(([code, { status }]) => [code, status]));
    expect([...documented].sort()).toEqual([...expected].sort());
  });

  it('lists exactly the codes of the contract enum ProblemCode (@fleece/sdk/contract)', () => {
    expect([...documentedCodes().keys()].sort()).toEqual([...ProblemCode.options].sort());
    expect(Object.keys(PROBLEMS).sort()).toEqual([...ProblemCode.options].sort());
  });
});
