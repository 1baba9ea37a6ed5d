import {
  Problem,
  WebhookDeliveryListQuery,
  WebhookDeliveryPage,
  WebhookDeliveryParams,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProblemError } from '../../errors.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

/**
 * `GET /api/v1/executions/:id/deliveries`: the webhook delivery attempts of a flow run, newest first (as
 * GitHub's hook deliveries and Svix's attempts list them). Another user's execution, or one past the plan's
 * retention, answers 404 exactly as a missing one; an execution without a callback has an empty list.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/executions/:id/deliveries',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['executions'],
        summary: 'The webhook callback delivery attempts of a flow run, newest first',
        security,
        params: WebhookDeliveryParams,
        querystring: WebhookDeliveryListQuery,
        response: { 200: WebhookDeliveryPage, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const page = await app.webhooks.list(
        request.principal!.userId,
        request.params.id,
        request.query.limit,
        request.query.cursor,
      );
      if (!page) throw new ProblemError('not_found', 'No such execution.');
      return page;
    },
  );
};
