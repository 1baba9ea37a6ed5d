/**
 * Redirect validation (docs/architecture.md, claim C7): where the server may send a browser after
 * sign-in, and which loopback addresses the CLI may receive an authorization code at. There are no open
 * redirects: anything that is not provably ours or provably loopback is refused.
 *
 * {@link safeReturnTo} is the one rule for post-login destinations. The server applies it wherever a
 * `returnTo` comes in or goes out (magic link request and verify, OAuth start and callback, the CLI's
 * sign-in detour), and the web pages never build a link from their raw query: they ask
 * `GET /api/auth/return-to`, which answers with this function's result.
 */

/** Longest `returnTo` accepted, in characters. */
export const RETURN_TO_MAX_LENGTH = 2048;

/** How many layers of percent-encoding are peeled off to look for a hidden `//`, `\` or control. */
const DECODE_LAYERS = 3;

// C0 controls, DEL and C1 controls: browsers strip or reinterpret them (`\t//evil.test` → `//evil.test`).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Printable ASCII without space: all that a path, query and fragment serialised by the URL parser hold. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** The outcome of {@link safeReturnTo}: the path to use, and whether the given value was refused. */
export interface ReturnToResult {
  /** A same-origin path (with query and fragment), `/` when the input was missing or refused. */
  path: string;
  /** `true` when a value was given and refused; the caller records `security.redirect_blocked`. */
  blocked: boolean;
}

/** One spelling is dangerous: a control, a backslash, no leading `/`, or a second leading `/` or `\`. */
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
 * Whether `value` is suspicious: a raw control or backslash anywhere, or a path (the part before `?` or
 * `#`) that is {@link unsafe}, has broken UTF-8 percent-encoding, or becomes unsafe when up to
 * {@link DECODE_LAYERS} layers of percent-encoded ASCII (`%00`–`%7F`) are decoded: `/%2F%2Fevil.test`,
 * `/%255Cevil.test`, `/%2509/evil.test` and `/%E0%A4%A` all are. A server or proxy further on that
 * decodes the path once more must not find a protocol-relative path either. The query and fragment may
 * hold any percent-encoding: they do not choose where a browser goes.
 */
function suspicious(value: string): boolean {
  if (CONTROL.test(value) || value.includes('\\')) return true;
  const path = value.split(/[?#]/, 1)[0]!;
  try {
    decodeURIComponent(path);
  } catch {
    return true;
  }
  let layer = path;
  for (let round = 0; round <= DECODE_LAYERS; round++) {
    if (unsafe(layer)) return true;
    const next = layer.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === layer) return false;
    layer = next;
  }
  return true;
}

/**
 * Whether `path` is a same-origin destination exactly as written: printable ASCII only, starting with a
 * single `/` (never `//` or `/\`), no raw backslash or control character, none percent-encoded in the
 * path (up to three layers deep), and the WHATWG URL parser (RFC 3986 resolution as browsers do it, which
 * is also what an `href` or a `Location` header becomes) resolves it against `publicUrl` to the same
 * origin AND serialises its path, query and fragment back to exactly `path`. So what is checked is what a
 * browser requests: no dot segment, tab or backslash is left for the browser to reinterpret.
 *
 * @param path a candidate destination such as `/settings?tab=keys#x`.
 * @param publicUrl the server's origin (`FLEECE_PUBLIC_URL`).
 * @returns `true` only for such a path; never throws.
 */
export function isSameOriginPath(path: string, publicUrl: string): boolean {
  if (path.length > RETURN_TO_MAX_LENGTH || !PRINTABLE_ASCII.test(path) || suspicious(path)) return false;
  try {
    const base = new URL(publicUrl);
    const url = new URL(path, base);
    return url.origin === base.origin && `${url.pathname}${url.search}${url.hash}` === path;
  } catch {
    return false;
  }
}

/**
 * Validates a post-login destination (`returnTo`); the one redirect rule of claim C7. The input must
 * look like a path (a single leading `/`, no raw backslash or control character, none percent-encoded in
 * the path); it is then normalised by the WHATWG URL parser against `publicUrl` (dot segments resolved,
 * characters percent-encoded), and the normalised path, the string returned, must itself pass
 * {@link isSameOriginPath}. So `/.//evil.test`, `/x/..//evil.test` and `/%2e//evil.test`, which
 * normalise to `//evil.test`, are refused, as are absolute URLs, protocol-relative (`//evil.test`),
 * backslash tricks (`/\evil.test`), `javascript:` and look-alike hosts (`https://our-host.evil.test`).
 * Applying it to its own result returns that result unchanged.
 *
 * @param value the raw `returnTo`, possibly missing.
 * @param publicUrl the server's origin (`FLEECE_PUBLIC_URL`).
 * @returns the normalised path (`/` when missing or refused) and whether a given value was refused.
 * @example safeReturnTo('/settings?tab=keys', 'https://fleece.example') // { path: '/settings?tab=keys', blocked: false }
 * @example safeReturnTo('/.//evil.test', 'https://fleece.example') // { path: '/', blocked: true }
 */
export function safeReturnTo(value: string | undefined | null, publicUrl: string): ReturnToResult {
  if (value === undefined || value === null || value === '') return { path: '/', blocked: false };
  const refused = { path: '/', blocked: true };
  if (value.length > RETURN_TO_MAX_LENGTH || suspicious(value)) return refused;
  let normalised: string;
  try {
    const url = new URL(value, new URL(publicUrl));
    normalised = `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return refused;
  }
  if (!isSameOriginPath(normalised, publicUrl)) return refused;
  return { path: normalised, blocked: false };
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
