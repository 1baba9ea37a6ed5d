import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import { messages } from '../../messages.js';

/**
 * `--expires-in` as the API takes it: `30d` or `30` → 30 (days, 1–365); a date (`2026-06-30`, midnight UTC)
 * or an ISO 8601 time with an offset → that instant; `never` → `null` (a key that never expires).
 * `undefined` when the flag is absent (the contract's `DEFAULT_API_KEY_EXPIRY_DAYS` applies).
 * @throws {ValidationError} (exit 2) naming the flag for anything else.
 */
export function parseExpiresIn(value: string | undefined): number | string | null | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.toLowerCase() === 'never') return null;
  const days = /^(\d{1,3})d?$/i.exec(text);
  if (days) {
    const n = Number(days[1]);
    if (n >= 1 && n <= 365) return n;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    return `${text}T00:00:00Z`;
  } else if (
    /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/i.test(text) &&
    !Number.isNaN(Date.parse(text))
  ) {
    return text;
  }
  throw new ValidationError(messages.badExpiresIn(value), { hint: messages.badExpiresInHint });
}

/**
 * `--scopes read,agents:execute` → the scopes, each once. `undefined` when absent (the contract's
 * `DEFAULT_API_KEY_SCOPES` apply: `read`).
 * @throws {ValidationError} (exit 2) naming an unknown scope.
 */
export function parseScopes(value: string | undefined): ApiKeyScope[] | undefined {
  if (value === undefined) return undefined;
  const scopes = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new ValidationError(messages.badScopes(unknown.join(', ') || value), {
      hint: messages.badScopesHint(API_KEY_SCOPES.join(', ')),
    });
  }
  return scopes as ApiKeyScope[];
}

/** When a key expires, in words for people: `never`, `2026-06-30 00:00 UTC`, or `expired`. */
export function describeExpiry(key: Pick<ApiKey, 'expiresAt' | 'status'>): string {
  if (key.status === 'expired') return 'expired';
  return key.expiresAt ? `${key.expiresAt.slice(0, 16).replace('T', ' ')} UTC` : 'never';
}
