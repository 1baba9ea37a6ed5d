import { describe, expect, it } from 'vitest';
import { colorLevel } from '../../src/lib/color.js';

const tty = { write: () => true, isTTY: true };
const pipe = { write: () => true, isTTY: false };

describe('colorLevel', () => {
  it.each([
    ['a terminal', tty, {}, true, 1],
    ['a 256-colour terminal', tty, { TERM: 'xterm-256color' }, true, 2],
    ['a truecolor terminal', tty, { COLORTERM: 'truecolor' }, true, 3],
    ['a pipe', pipe, {}, true, 0],
    ['a terminal in CI', tty, { CI: 'true' }, true, 0],
    ['a terminal with CI=false', tty, { CI: 'false' }, true, 1],
    ['a dumb terminal', tty, { TERM: 'dumb' }, true, 0],
    ['NO_COLOR on a terminal', tty, { NO_COLOR: '1' }, true, 0],
    ['an empty NO_COLOR (ignored, per no-color.org)', tty, { NO_COLOR: '' }, true, 1],
    ['FORCE_COLOR on a pipe', pipe, { FORCE_COLOR: '1' }, true, 1],
    ['FORCE_COLOR=3 in CI', pipe, { FORCE_COLOR: '3', CI: 'true' }, true, 3],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, true, 0],
    ['NO_COLOR over FORCE_COLOR', tty, { NO_COLOR: '1', FORCE_COLOR: '1' }, true, 0],
    ['--no-color over FORCE_COLOR', tty, { FORCE_COLOR: '3' }, false, 0],
  ] as const)('is right for %s', (_name, stream, env, flag, level) => {
    expect(colorLevel(stream, { env }, flag)).toBe(level);
  });
});
