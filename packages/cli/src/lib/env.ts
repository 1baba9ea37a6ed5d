import type { Context } from './context.js';

/** An environment variable, trimmed; empty or whitespace-only counts as unset (as in the SDK). */
export function readEnv(ctx: Pick<Context, 'env'>, name: string): string | undefined {
  const value = ctx.env[name]?.trim();
  return value ? value : undefined;
}

/** Whether the CLI runs in CI: `CI` is set to anything but `false` or `0` (`CI=true` on every major CI). */
export function isCI(ctx: Pick<Context, 'env'>): boolean {
  const value = readEnv(ctx, 'CI')?.toLowerCase();
  return value !== undefined && value !== 'false' && value !== '0';
}

/** The environment variables that override stored credentials, in the order the SDK reads them. */
export const CREDENTIAL_ENV_VARS = ['FLEECE_API_KEY', 'FLEECE_TOKEN'] as const;

/** The credential variable that is set (non-blank), if any: `FLEECE_API_KEY` wins over `FLEECE_TOKEN`. */
export function credentialFromEnv(
  ctx: Pick<Context, 'env'>,
): { name: (typeof CREDENTIAL_ENV_VARS)[number]; value: string } | undefined {
  for (const name of CREDENTIAL_ENV_VARS) {
    const value = readEnv(ctx, name);
    if (value) return { name, value };
  }
  return undefined;
}
