import cors from '@fastify/cors';
import fp from 'fastify-plugin';

/**
 * CORS: cross-origin requests are denied by default. Only the origins in `FLEECE_CORS_ORIGINS` get
 * `Access-Control-Allow-*` headers; the browser refuses every other cross-origin read.
 */
export const corsPlugin = fp(
  async (app) => {
    const allowed = new Set(app.config.corsOrigins);
    await app.register(cors, {
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: [
        'X-Request-Id',
        'Retry-After',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ],
      maxAge: 600,
    });
  },
  { name: 'fleece-cors', dependencies: ['fleece-config'] },
);
