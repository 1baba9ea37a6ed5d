import type { Context } from './context.js';
import { isCI, readEnv } from './env.js';

/**
 * Why no browser can be opened for the user here, or `undefined` when one probably can: an SSH session
 * (`SSH_CONNECTION` or `SSH_TTY` set: a browser would open on the remote machine), CI, or Linux without
 * a display (`DISPLAY` and `WAYLAND_DISPLAY` unset).
 */
export function noBrowserReason(ctx: Pick<Context, 'env' | 'platform'>): string | undefined {
  if (readEnv(ctx, 'SSH_CONNECTION') || readEnv(ctx, 'SSH_TTY')) return 'SSH session';
  if (isCI(ctx)) return 'CI';
  if (ctx.platform === 'linux' && !readEnv(ctx, 'DISPLAY') && !readEnv(ctx, 'WAYLAND_DISPLAY')) {
    return 'no DISPLAY or WAYLAND_DISPLAY';
  }
  return undefined;
}
