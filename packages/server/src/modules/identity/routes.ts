import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { accountRoutes } from './account.routes.js';
import { browserAuthRoutes } from './auth.routes.js';
import { cliBrowserRoutes, oauthEndpoints, oauthMetadataRoute } from './cli.routes.js';
import { pageRoutes } from './pages.routes.js';

/**
 * The identity module: sign-in (magic link, Google, GitHub, Entra ID), sessions, the CLI's device and
 * loopback flows with their token endpoints and metadata (RFC 8414), `GET /api/v1/me`, and the sign-in pages. Its services come
 * from src/modules/identity/plugin.ts (`app.identity`); it needs the authenticate, rate-limit and audit plugins.
 */
export const identityRoutes: FastifyPluginAsyncZod = async (app) => {
  const services = app.identity;
  await app.register(oauthEndpoints, { services });
  await app.register(oauthMetadataRoute);
  await app.register(cliBrowserRoutes, { services });
  await app.register(browserAuthRoutes, { services });
  await app.register(accountRoutes, { services });
  await app.register(pageRoutes);
};
