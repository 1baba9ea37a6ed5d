import { ModelList } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProblemError } from '../../../errors.js';

/**
 * `GET /api/v1/models`: the models this server offers (those of configured providers, and the offline
 * mock models), each with whether the caller's plan may use it, and the default model. Needs the ai
 * plugin.
 */
export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/models',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['models'],
        summary: 'The models you can run, and which of them your plan allows',
        security: [{ bearer: [] }, { session: [] }],
        response: { 200: ModelList },
      },
    },
    async (request) => {
      const list = await app.ai.models.listFor(request.principal!.userId);
      if (!list) throw new ProblemError('unauthenticated', 'This account no longer exists.');
      return list;
    },
  );
};
