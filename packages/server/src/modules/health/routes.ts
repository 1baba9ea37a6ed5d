import { HealthResponse } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

/**
 * `GET /api/health`: 200 with status `ok` or `degraded`, 503 with status `down`. Public, cached for 1 s,
 * free of hostnames, connection strings and secrets, and exempt from rate limiting (no `X-RateLimit-*`
 * headers, never 429), since load balancers poll it.
 */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { health } = app;
  app.get(
    '/api/health',
    {
      // Load balancers and uptime monitors poll this from a few addresses many times a minute: no limit.
      config: { limit: false },
      schema: {
        tags: ['health'],
        summary: 'Service health for uptime monitoring',
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_request, reply) => {
      const { result, json } = await health.check();
      // The body was validated and serialised once per cache window; send those bytes as they are.
      return reply
        .code(result.status === 'down' ? 503 : 200)
        .type('application/json; charset=utf-8')
        .send(json as unknown as typeof result);
    },
  );
};
