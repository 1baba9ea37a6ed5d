/**
 * Redirect validation (DESIGN.md §6.5, claim C7): where the server may send a browser after sign-in, and
 * which loopback addresses the CLI may receive an authorization code at. There are no open redirects:
 * anything that is not provably ours or provably loopback is refused.
 */

/** Longest `returnTo` accepted, in characters. */
export const RETURN_TO_MAX_LENGTH = 2048;

// C0 controls, DEL and C1 controls: browsers strip or reinterpret them (`\t//evil.test` → `//evil.test`).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The outcome of {@link safeReturnTo}: the path to use, and whether the given value was refused. */
export interface ReturnToResult {
  /** A same-origin path (with query and fragment), `/` when the input was missing or refused. */
  path: string;
  /** `true` when a value was given and refused; the caller records `security.redirect_blocked`. */
  blocked: boolean;
}

function unsafe(value: string): boolean {
  return (
    CONTROL.test(value) ||
    value.includes('\\') ||
    !value.startsWith('/') ||
    value.startsWith('//') ||
    value.startsWith('/\\')
  );
}

/**
 * Validates a post-login destination (`returnTo`). Only a path on this origin is accepted: it must start
 * with a single `/`, contain no backslash or control character (raw or percent-encoded), and resolve
 * against `publicUrl` to the same origin. Absolute URLs, protocol-relative (`//evil.test`), backslash
 * tricks (`/\evil.test`), `javascript:` and look-alike hosts (`https://our-host.evil.test`) are refused.
 *
 * @param value the raw `returnTo`, possibly missing.
 * @param publicUrl the server's origin (`FLEECE_PUBLIC_URL`).
 * @returns the normalised path (`/` when missing or refused) and whether a given value was refused.
 * @example safeReturnTo('/settings?tab=keys', 'https://fleece.example') // { path: '/settings?tab=keys', blocked: false }
 */
export function safeReturnTo(value: string | undefined | null, publicUrl: string): ReturnToResult {
  if (value === undefined || value === null || value === '') return { path: '/', blocked: false };
  if (value.length > RETURN_TO_MAX_LENGTH || unsafe(value)) return { path: '/', blocked: true };
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return { path: '/', blocked: true };
  }
  if (unsafe(decoded)) return { path: '/', blocked: true };
  let url: URL;
  try {
    const base = new URL(publicUrl);
    url = new URL(value, base);
    if (url.origin !== base.origin) return { path: '/', blocked: true };
  } catch {
    return { path: '/', blocked: true };
  }
  return { path: `${url.pathname}${url.search}${url.hash}`, blocked: false };
}

/** A validated loopback redirect URI of a native app (RFC 8252 §7.3). */
export interface LoopbackRedirect {
  /** The URI exactly as given (it is also the value to compare at the token endpoint). */
  uri: string;
  port: number;
}

/**
 * Validates the `redirect_uri` of the CLI's browser sign-in (RFC 8252 §7.3, §8.3): `http` to the loopback
 * IP literal `127.0.0.1` or `[::1]` with an explicit port (any port), a path, and no user info or fragment.
 * `localhost` and every other host are refused (§8.3: a name may resolve elsewhere). The URI must be in
 * canonical form (what the WHATWG URL parser prints), so `http://127.1:80/` or encoded tricks do not pass.
 *
 * @returns the redirect, or `undefined` when the URI is not an acceptable loopback redirect.
 */
export function parseLoopbackRedirect(value: string): LoopbackRedirect | undefined {
  if (value.length > 512 || CONTROL.test(value) || value.includes('\\')) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.href !== value) return undefined;
  if (url.protocol !== 'http:') return undefined;
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') return undefined;
  if (url.username || url.password || url.hash) return undefined;
  if (!url.port) return undefined;
  return { uri: value, port: Number(url.port) };
}
