import type { Context, OutputStream } from './context.js';
import { isCI } from './env.js';

/** A chalk colour level: 0 none, 1 basic 16 colours, 2 256 colours, 3 truecolor. */
export type ColorLevel = 0 | 1 | 2 | 3;

/**
 * The colour level for one output stream, by precedence:
 *
 * 1. `--no-color` → none;
 * 2. `NO_COLOR` set to anything non-empty (no-color.org) → none;
 * 3. `FORCE_COLOR`: `0`/`false` → none, `1`/`true`/empty → basic, `2` → 256, `3` → truecolor;
 * 4. `CI` set, or the stream is not a terminal, or `TERM=dumb` → none;
 * 5. otherwise from `COLORTERM`/`TERM`: truecolor, 256, or basic.
 */
export function colorLevel(stream: OutputStream, ctx: Pick<Context, 'env'>, flag: boolean): ColorLevel {
  if (!flag) return 0;
  const { env } = ctx;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    const value = force.trim().toLowerCase();
    if (value === '0' || value === 'false') return 0;
    if (value === '2') return 2;
    if (value === '3') return 3;
    return 1;
  }
  if (isCI(ctx) || !stream.isTTY || env.TERM === 'dumb') return 0;
  if (/^(truecolor|24bit)$/i.test(env.COLORTERM ?? '')) return 3;
  if (/-256(color)?$/i.test(env.TERM ?? '')) return 2;
  return 1;
}
