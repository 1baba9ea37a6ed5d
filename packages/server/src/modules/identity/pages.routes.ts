import type { FastifyPluginAsync } from 'fastify';

/** The sign-in pages, as static files from `web/` (no inline script or style, under the strict CSP). */
const PAGES: Record<string, string> = {
  '/login': 'login.html',
  '/login/magic': 'magic.html',
  '/device': 'device.html',
  '/cli/authorize': 'cli-authorize.html',
};

/** `GET /login`, `/login/magic`, `/device`, `/cli/authorize`: the static pages of the sign-in flows. */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'no-store').sendFile(file),
    );
  }
};
