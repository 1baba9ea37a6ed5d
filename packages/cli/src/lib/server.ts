import { ValidationError } from './errors.js';

/** Where `fleece` connects when nothing else says: the embedded server's address. */
export const DEFAULT_SERVER = 'http://127.0.0.1:3000';

/** The profile used without `--profile` or `FLEECE_PROFILE`. */
export const DEFAULT_PROFILE = 'default';

/**
 * Normalises a server URL to the form credentials are stored under: `http:` or `https:`, no user info,
 * query or fragment, no trailing slash (`https://fleece.example.com/base`).
 *
 * @throws {ValidationError} (exit 2) for anything else, naming `from` (the flag or variable it came from).
 */
export function normalizeServer(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ValidationError(`${from} is not a URL: ${JSON.stringify(value)}.`, {
      hint: `Pass the server's address, such as ${DEFAULT_SERVER} or https://fleece.example.com.`,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`${from} must be an http: or https: URL, got ${url.protocol}.`, {
      hint: `Pass the server's address, such as ${DEFAULT_SERVER} or https://fleece.example.com.`,
    });
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ValidationError(`${from} must not contain credentials, a query or a fragment.`, {
      hint: 'Pass only the scheme, host, port and optional path of the server.',
    });
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Profile names: letters, digits, `.`, `_` and `-`, up to 64 characters. */
const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Checks a profile name.
 * @throws {ValidationError} (exit 2) for a name outside `[A-Za-z0-9._-]{1,64}`.
 */
export function checkProfile(value: string): string {
  if (!PROFILE_NAME.test(value)) {
    throw new ValidationError(`Invalid profile name ${JSON.stringify(value)}.`, {
      hint: 'Use letters, digits, ".", "_" and "-" (up to 64 characters), such as "work".',
    });
  }
  return value;
}
