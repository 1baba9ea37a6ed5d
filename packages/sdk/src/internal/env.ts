/**
 * Reads an environment variable, trimmed. A variable that is unset, empty or only whitespace counts as
 * unset, so `FLEECE_API_KEY=` in a CI file does not override a default or an option.
 */
export function readEnv(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

/** Trims an option value; an empty or whitespace-only string counts as not given. */
export function nonBlank(value: string | undefined | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
