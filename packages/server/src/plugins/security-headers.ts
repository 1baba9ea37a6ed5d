import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/**
 * The Permissions-Policy of every response: every powerful feature off, except writing to the clipboard
 * from our own pages (the copy button for a new API key).
 */
export const PERMISSIONS_POLICY =
  'accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=(), clipboard-write=(self)';

/**
 * Security headers on every response, errors and 404s included (DESIGN.md §6.6): a strict CSP with no
 * inline script or style, HSTS for two years with preload, `X-Frame-Options: SAMEORIGIN`, `nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin`, the restrictive {@link PERMISSIONS_POLICY}, and
 * `Cache-Control: no-store` on everything under `/api/`.
 */
export const securityHeadersPlugin = fp(
  async (app) => {
    await app.register(helmet, {
      global: true,
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
    });
    app.addHook('onRequest', async (request, reply) => {
      reply.header('permissions-policy', PERMISSIONS_POLICY);
      if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    });
  },
  { name: 'fleece-security-headers' },
);
