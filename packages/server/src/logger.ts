import type { FastifyServerOptions } from 'fastify';

/** Object keys whose values never reach a log line: credentials of any kind. */
const SENSITIVE_KEY = /(authorization|cookie|password|passwd|secret|token|key)$/i;
/** Query parameters redacted out of logged URLs, so a magic-link or device token never lands in a log. */
const SENSITIVE_QUERY =
  /^(token|code|state|key|api_key|access_token|refresh_token|device_code|user_code|code_verifier)$/i;

export const REDACTED = '[Redacted]';

/**
 * Returns a copy of plain data `value` in which every property whose name ends in key, token, secret, password,
 * authorization or cookie (any depth, any case) is replaced by `[Redacted]`. Cycles are cut.
 */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
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
}

/** Returns `url` (a path with an optional query) with the values of sensitive query parameters redacted. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
      return eq !== -1 && SENSITIVE_QUERY.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  ip: string;
}

/**
 * pino options for the server: JSON lines (or pino-pretty for a person at a terminal), ISO timestamps, request logs with headers (redacted) and URLs
 * with sensitive query values removed, and a final deep redaction of every logged object.
 */
export function loggerOptions(
  level: string,
  format: 'json' | 'pretty' = 'json',
): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    // Pretty output goes through pino-pretty in a worker thread; the redaction below still applies first.
    ...(format === 'pretty'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
          },
        }
      : {}),
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: {
      log: (object) => redact(object) as Record<string, unknown>,
    },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: redactUrl(req.url),
        ip: req.ip,
        headers: redact(req.headers),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
