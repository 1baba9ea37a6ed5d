import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import { packagePath } from '../lib/package.js';

/**
 * Serves the static web front end from the package's `web/` folder at `/`. Missing files fall through to
 * the problem+json 404 handler.
 */
export const webPlugin = fp(
  async (app) => {
    await app.register(fastifyStatic, {
      root: packagePath('web'),
      prefix: '/',
      index: ['index.html'],
      dotfiles: 'deny',
      wildcard: false,
    });
  },
  { name: 'fleece-web' },
);
