import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The Permissions-Policy of every response: every powerful feature off, except writing to the clipboard
 * from our own pages (the copy button for a new API key).
 */
export const PERMISSIONS_POLICY =
  'accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=(), clipboard-write=(self)';

/** The helmet configuration that yields the headers of docs/architecture.md (security headers). */
const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'self'"],
    },
  },
  strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true, preload: true },
  xFrameOptions: { action: 'sameorigin' },
  xContentTypeOptions: true,
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  crossOriginEmbedderPolicy: false,
};

/**
 * Runs helmet's middleware once against a recording response and returns the headers it sets.
 * Our headers are the same on every response, so they are computed at start-up: @fastify/helmet rebuilds
 * the whole helmet middleware on every request, which cost 40% of the API's throughput (bench/health).
 */
export function staticHelmetHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return headers;
}

let cached: { page: Record<string, string>; api: Record<string, string> } | undefined;

/**
 * The security headers of a response (header name in lower case → value): helmet's, the
 * {@link PERMISSIONS_POLICY}, and with `noStore` also `Cache-Control: no-store`. Computed once; the objects
 * returned are shared, so callers must not change them.
 */
export function responseHeaders(noStore: boolean): Readonly<Record<string, string>> {
  if (!cached) {
    const page = { ...staticHelmetHeaders(), 'permissions-policy': PERMISSIONS_POLICY };
    cached = { page, api: { ...page, 'cache-control': 'no-store' } };
  }
  return noStore ? cached.api : cached.page;
}

/**
 * Whether a response must carry `Cache-Control: no-store`: when the request matched a route under `/api/`,
 * and when it matched no route at all (a 404 costs nothing to leave uncached). The decision reads the
 * route the router matched (`request.routeOptions.url`, the pattern as registered), never the raw URL, so
 * no spelling of a path can reach an API route without it (issue #16, defect 6).
 */
export function notCacheable(request: FastifyRequest): boolean {
  return request.is404 || (request.routeOptions.url?.startsWith('/api/') ?? true);
}

/**
 * Security headers on every response, errors and 404s included (docs/architecture.md): a strict CSP with no
 * inline script or style, HSTS for two years with preload, `X-Frame-Options: SAMEORIGIN`, `nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin` (all from helmet), the restrictive
 * {@link PERMISSIONS_POLICY}, and `Cache-Control: no-store` on everything under `/api/` (see
 * {@link notCacheable}).
 */
export const securityHeadersPlugin = fp(
  async (app) => {
    const headers = responseHeaders(false);
    const apiHeaders = responseHeaders(true);
    app.addHook('onRequest', async (request, reply) => {
      reply.headers(notCacheable(request) ? apiHeaders : headers);
    });
  },
  { name: 'fleece-security-headers' },
);
