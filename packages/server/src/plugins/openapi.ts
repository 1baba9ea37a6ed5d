import swagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { VERSION } from '../lib/package.js';

/**
 * OpenAPI 3.1 generated from the routes' zod schemas (the same schemas @fleece/sdk ships), served at
 * `GET /api/v1/openapi.json`. Register before any route so every route is captured.
 */
export const openapiPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Fleece API',
          version: VERSION,
          description:
            'Errors are RFC 9457 problem details (application/problem+json). Lists take ?limit=&cursor= and answer { data, nextCursor }.',
        },
        servers: [{ url: app.config.publicUrl }],
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'An API key (flc_…) or an access token.' },
            session: { type: 'apiKey', in: 'cookie', name: '__Host-fleece_session' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });
    app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'fleece-openapi', dependencies: ['fleece-config'] },
);
