import { homedir as osHomedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Context } from './context.js';

/**
 * The CLI's configuration directory: `$XDG_CONFIG_HOME/fleece`, or `~/.config/fleece`. A relative
 * `XDG_CONFIG_HOME` is ignored, as the XDG Base Directory specification requires.
 */
export function configDir(ctx: Pick<Context, 'env' | 'homedir'>): string {
  const xdg = ctx.env.XDG_CONFIG_HOME?.trim();
  const base = xdg && isAbsolute(xdg) ? xdg : join(ctx.homedir || osHomedir(), '.config');
  return join(base, 'fleece');
}

/** `~/…` for a path under the home directory, for messages; other paths unchanged. */
export function displayPath(path: string, ctx: Pick<Context, 'homedir'>): string {
  const home = ctx.homedir;
  if (home && (path === home || path.startsWith(`${home}/`))) return `~${path.slice(home.length)}`;
  return path;
}
