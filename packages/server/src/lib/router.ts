/**
 * Routing rules shared by the app's router and every piece of code that must agree with it (the 405 router
 * of src/plugins/errors.ts, the canonical-path check of src/plugins/routing.ts).
 */

/**
 * The router options of the app (Fastify's `routerOptions`) and of every other router that must agree with
 * it (the 405 router of src/plugins/errors.ts): a path matches a route only as the route spells it, in
 * the same case, without doubled or trailing slashes. One spelling per route means one response policy per
 * route (no-store, limits, authentication): there is no second spelling for a policy keyed on the path to
 * miss (docs/architecture.md, issue #16).
 */
export const ROUTER_OPTIONS = {
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  caseSensitive: true,
} as const;

/** The scheme and authority of an absolute-form request target (RFC 9112 §3.2.2), any case. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** RFC 3986 §2.3 unreserved characters: percent-encoding one of them only spells the same path differently. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g;

/**
 * Why the path of a request target is not in canonical form, or `undefined` when it is. `target` is the
 * request target as received (`/api/v1/me?x=1`; the query and any fragment are ignored). Canonical means
 * RFC 3986 §6.2.2 normalised and spelled once: no percent-encoded unreserved character (§6.2.2.2: `%61`
 * is `a`), no `.` or `..` segment, encoded or not (§6.2.2.3, §5.2.4), no empty segment (`//`) and no
 * trailing slash except the root path `/`. An absolute-form target (`http://host/path`) is judged by its path. Letter case is left to the router, which is case-sensitive
 * ({@link ROUTER_OPTIONS}). A target that is not a path (`*` of `OPTIONS *`) has no canonical form to
 * miss: `undefined`.
 */
export function nonCanonicalPath(target: string): string | undefined {
  // The absolute form of a request target (RFC 9112 §3.2.2, `http://host/path`) names the same path as the
  // origin form: judge the path part the same way (the router drops the scheme and authority).
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) return nonCanonicalPath(target.slice(absolute[0].length) || '/');
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  if (!path.startsWith('/') || path === '/') return undefined;
  let encodedUnreserved = false;
  const decoded = path.replace(PERCENT_ESCAPE, (sequence, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    if (!UNRESERVED.test(char)) return sequence;
    encodedUnreserved = true;
    return char;
  });
  if (encodedUnreserved) return 'a percent-encoded letter, digit or `-._~`';
  const segments = decoded.slice(1).split('/');
  if (segments.some((s) => s === '.' || s === '..')) return 'a `.` or `..` segment';
  if (segments.at(-1) === '') return 'a trailing slash';
  if (segments.includes('')) return 'a doubled slash';
  return undefined;
}
