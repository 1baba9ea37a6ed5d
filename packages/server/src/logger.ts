import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyServerOptions } from 'fastify';
import pino from 'pino';

/**
 * Log redaction (docs/architecture.md, "Logs"; docs/security.md, "credentials never reach logs"). Three layers, each
 * a total function (it never throws, whatever it is given):
 *
 * 1. by name: object properties, headers and query parameters whose name says credential are replaced;
 * 2. by default: query values and header values are kept only for names on an allowlist of harmless ones;
 * 3. by shape: every finished log line is scrubbed of anything shaped like a credential (API keys, JWTs,
 *    bearer values, provider keys, passwords in URLs), wherever it appears — a path segment, an error
 *    message, a value under an innocent name.
 */

export const REDACTED = '[Redacted]';

/** Object keys whose values never reach a log line: credentials of any kind. */
const SENSITIVE_KEY =
  /(authorization|cookie|password|passwd|passphrase|secret|token|key|credentials?|signature|verifier|otp|jwt|dsn)$/i;

/**
 * Query parameters whose values are logged: ids, enums, numbers and dates the API defines. Every other
 * parameter's value is logged as `[Redacted]`, so a credential sent under any name (`?authorization=…`)
 * stays out of the logs.
 */
export const LOGGED_QUERY: ReadonlySet<string> = new Set([
  'limit',
  'cursor',
  'format',
  'follow',
  'action',
  'resourcetype',
  'resourceid',
  'outcome',
  'since',
  'until',
  'chain',
  'actorsubject',
  'plan',
  'status',
  'role',
  'agentid',
  'flowid',
  'parentid',
  'error',
]);

/**
 * Request headers whose values are logged as they are; every other header's value is logged as `[Redacted]`
 * (`authorization`, `cookie`, `x-api-key`, and whatever a client invents). `referer` is logged as a URL, with
 * its query redacted like the request's.
 */
const LOGGED_HEADERS = new Set([
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'origin',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'last-event-id',
  'cache-control',
  'pragma',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
]);

/** Longest string value written to a log line, in characters; the rest is cut with `…`. */
const MAX_LOGGED_STRING = 2048;

/**
 * Shapes of credentials, replaced wherever they appear in a finished log line. Fleece's own (API keys,
 * access tokens) and the providers' it holds (OpenAI, Anthropic, Stripe, Resend), bearer values in any
 * text, and the password of a URL's userinfo.
 */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  // Every shape below starts where a run of its own characters starts (a lookbehind, or a prefix that cannot
  // repeat inside the run), so a match is tried once per run, not once per character: scrubbing stays linear
  // in the length of the line whatever a client sends (a quadratic pattern let one long URL stall the server).
  // Fleece API keys: flc_ + base62 (a prefix of at least 8 characters is already worth hiding).
  [/flc_[0-9A-Za-z]{8,}/g, `flc_${REDACTED}`],
  // JWS compact serialisation (access tokens, ID tokens): a base64url JSON header starts with eyJ.
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Bearer credentials in free text (error messages, header dumps); the value is whatever follows.
  [/(?<![A-Za-z])(Bearer|Basic)(?:\s|%20|\+)+[^\s"'\\,;&]+/gi, `$1 ${REDACTED}`],
  // OpenAI / Anthropic keys, Stripe secret, restricted and webhook keys, Resend keys.
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/g, REDACTED],
  [/\bwhsec_[A-Za-z0-9+/=]{8,}/g, REDACTED],
  [/\bre_[A-Za-z0-9_]{16,}/g, REDACTED],
  // user:password@ in URLs (database and Redis URLs in connection errors).
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^/\s:@"]*:[^/\s@"]*@/gi, `$1${REDACTED}@`],
];

/**
 * Returns `text` with every credential-shaped run replaced (see {@link CREDENTIAL_SHAPES}). Total: any string
 * in, a string out.
 */
export function scrubCredentials(text: string): string {
  let out = text;
  for (const [shape, replacement] of CREDENTIAL_SHAPES) out = out.replace(shape, replacement);
  return out;
}

function clip(value: string): string {
  return value.length > MAX_LOGGED_STRING ? `${value.slice(0, MAX_LOGGED_STRING)}…` : value;
}

/**
 * Returns a copy of plain data `value` in which every property whose name ends in key, token, secret, password,
 * authorization, cookie, credential(s), signature, verifier, otp, jwt or dsn (any depth, any case) is replaced by
 * `[Redacted]`. Cycles are cut; class instances (errors, requests) are left to their serializers. Total: a value
 * that cannot be read (a throwing getter, a revoked proxy) is logged as `[Unreadable]`.
 */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  try {
    if (value === null || typeof value !== 'object') return value;
    // Only plain data is walked: requests, errors and other class instances have their own serializers.
    const proto = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => redact(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SENSITIVE_KEY.test(k) ? REDACTED : redact(v, seen);
    }
    return out;
  } catch {
    return '[Unreadable]';
  }
}

/** `decodeURIComponent` that never throws: a malformed escape leaves the text as it is. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/**
 * Returns `url` (a path with an optional query) as it may be logged: each query parameter's value is replaced
 * by `[Redacted]` unless its name is on the allowlist of harmless names ({@link LOGGED_QUERY}: `limit`,
 * `cursor`, filters…), whatever the name's spelling or escaping; then credential shapes are scrubbed from the
 * whole URL (a key in a path segment). Total: malformed escapes (`?%`, `?a%=1`) and any other string are
 * handled, never thrown on (RFC 3986 §2.1 escapes are decoded only to read a name).
 *
 * @example redactUrl('/cb?code=abc&limit=5') // '/cb?code=[Redacted]&limit=5'
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return '';
  // Cut first: whatever the scrubbing costs, it is paid on at most MAX_LOGGED_STRING characters.
  const q = url.indexOf('?');
  if (q === -1) return scrubCredentials(clip(url));
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      if (pair === '') return pair;
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      const name = safeDecode(rawName).toLowerCase();
      if (LOGGED_QUERY.has(name)) return pair;
      return eq === -1 ? REDACTED : `${rawName}=${REDACTED}`;
    });
  return scrubCredentials(clip(`${url.slice(0, q)}?${params.join('&')}`));
}

/**
 * Returns request headers as they may be logged: values of headers on the allowlist ({@link LOGGED_HEADERS})
 * as they are, `referer` through {@link redactUrl}, every other value `[Redacted]`. Total.
 */
export function redactHeaders(headers: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  try {
    if (headers === null || typeof headers !== 'object') return out;
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (lower === 'referer' && typeof value === 'string') out[name] = redactUrl(value);
      else if (LOGGED_HEADERS.has(lower)) out[name] = typeof value === 'string' ? clip(value) : value;
      else out[name] = REDACTED;
    }
  } catch {
    return { unreadable: true };
  }
  return out;
}

/** The `params: …` line a failed query's error carries (drizzle's `DrizzleQueryError`): the bound values. */
const QUERY_PARAMS_LINE = /\nparams: [^\n]*/g;

/**
 * pino's error serializer, without the values a failed database query was bound to: they hold whatever the
 * request carried (an email address, a user code, a token's hash), so the `params` property goes and the
 * `params: …` line of the message and stack reads `params: [Redacted]`, on the error and every `cause`.
 * The query text (placeholders only) stays, for diagnosis. Total: never throws.
 */
export function serializeError(error: unknown): pino.SerializedError {
  try {
    const out = pino.stdSerializers.err(error as Error);
    const clean = (node: Record<string, unknown> | undefined, depth: number): void => {
      if (!node || typeof node !== 'object' || depth > 5) return;
      delete node.params;
      for (const field of ['message', 'stack'] as const) {
        if (typeof node[field] === 'string') {
          node[field] = (node[field] as string).replace(QUERY_PARAMS_LINE, `\nparams: ${REDACTED}`);
        }
      }
      clean(node.cause as Record<string, unknown> | undefined, depth + 1);
    };
    clean(out as unknown as Record<string, unknown>, 0);
    return out;
  } catch {
    return { type: 'Error', message: '[Unreadable error]', stack: '', raw: new Error('[Unreadable error]') };
  }
}

/**
 * The file of the development log transport (src/log-pretty.ts), as an absolute path for pino's worker: the
 * built `log-pretty.js` beside the bundle, or the TypeScript source when running from sources (tsx).
 */
export function prettyTransportPath(): string {
  const built = fileURLToPath(new URL('./log-pretty.js', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('./log-pretty.ts', import.meta.url));
}

interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  ip: string;
}

/**
 * pino options for the server: JSON lines (or one pretty line per record for a person at a terminal), ISO timestamps, request
 * logs with headers and URLs redacted by default ({@link redactHeaders}, {@link redactUrl}), a deep redaction of
 * every logged object by property name ({@link redact}), errors without the values of failed queries
 * ({@link serializeError}), and a last pass over every finished line that removes credential shapes
 * ({@link scrubCredentials}).
 */
export function loggerOptions(
  level: string,
  format: 'json' | 'pretty' = 'json',
): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    // Pretty output goes through pino-pretty in a worker thread (src/log-pretty.ts: one line per record);
    // the redaction below still applies first.
    ...(format === 'pretty' ? { transport: { target: prettyTransportPath() } } : {}),
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: {
      log: (object) => redact(object) as Record<string, unknown>,
    },
    hooks: { streamWrite: scrubCredentials },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: typeof req.method === 'string' ? clip(req.method) : req.method,
        url: redactUrl(req.url),
        ip: req.ip,
        headers: redactHeaders(req.headers),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: serializeError,
    },
  };
}
