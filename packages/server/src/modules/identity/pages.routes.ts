import type { FastifyPluginAsync } from 'fastify';

/**
 * The pages of the web front end, as static files from `web/` (no inline script or style, under the strict
 * CSP): the sign-in flows and the account settings.
 */
const PAGES: Record<string, string> = {
  '/login': 'login.html',
  '/login/magic': 'magic.html',
  '/device': 'device.html',
  '/cli/authorize': 'cli-authorize.html',
  '/settings': 'settings.html',
};

/**
 * `GET /login`, `/login/magic`, `/device`, `/cli/authorize`: the static pages of the sign-in flows;
 * `GET /settings`: the account settings (the page itself sends a signed-out browser to sign in).
 */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'no-store').sendFile(file),
    );
  }
};
