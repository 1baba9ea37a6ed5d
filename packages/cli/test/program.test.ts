import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/program.js';

describe('fleece', () => {
  it('prints its version', async () => {
    const out: string[] = [];
    const program = buildProgram()
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s) });
    await expect(program.parseAsync(['node', 'fleece', '--version'])).rejects.toMatchObject({
      code: 'commander.version',
      exitCode: 0,
    });
    expect(out).toEqual(['0.1.0\n']);
  });
});
