import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The Permissions-Policy of every response: every powerful feature off, except writing to the clipboard
 * from our own pages (the copy button for a new API key).
 */
export const PERMISSIONS_POLICY =
  'accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=(), clipboard-write=(self)';

/** The helmet configuration that yields the headers of docs/architecture.md. */
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

let computed: { page: Record<string, string>; api: Record<string, string> } | undefined;

/**
 * The security headers of a response, as lower-case name → value: `api` for everything under `/api/` (adds
 * `Cache-Control: no-store`), `page` for the rest. Computed once. Also used where a response is written before
 * any hook runs (a URL the router cannot decode, a request Node cannot parse: src/plugins/errors.ts).
 */
export function securityHeaders(kind: 'api' | 'page'): Readonly<Record<string, string>> {
  if (!computed) {
    const page = { ...staticHelmetHeaders(), 'permissions-policy': PERMISSIONS_POLICY };
    computed = { page, api: { ...page, 'cache-control': 'no-store' } };
  }
  return computed[kind];
}

/**
 * Security headers on every response, errors and 404s included (docs/security.md, Headers): a strict CSP with no
 * inline script or style, HSTS for two years with preload, `X-Frame-Options: SAMEORIGIN`, `nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin` (all from helmet), the restrictive
 * {@link PERMISSIONS_POLICY}, and `Cache-Control: no-store` on everything under `/api/`.
 */
export const securityHeadersPlugin = fp(
  async (app) => {
    const headers = securityHeaders('page');
    const apiHeaders = securityHeaders('api');
    app.addHook('onRequest', async (request, reply) => {
      reply.headers(request.url.startsWith('/api/') ? apiHeaders : headers);
    });
  },
  { name: 'fleece-security-headers' },
);
