import {
  ApiKeyPage,
  ApiKeyParams,
  CreateApiKeyRequest,
  CreatedApiKey,
  PageQuery,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

/**
 * API key management (claims C5, C9, C10, C27): `POST /api/v1/api-keys` (sessions only: a key cannot
 * create keys), `GET /api/v1/api-keys`, `DELETE /api/v1/api-keys/:id` (idempotent). HTTP only; the rules
 * live in {@link ApiKeyService} (`app.apiKeys`).
 */
export const apiKeyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/api/v1/api-keys',
    {
      preParsing: app.requireAuth,
      config: { apiKeys: false },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (its secret is shown once, in this response)',
        security,
        body: CreateApiKeyRequest,
        response: { 201: CreatedApiKey, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const created = await app.apiKeys.create(auditContext(request), principal.userId, request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/v1/api-keys',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['api-keys'],
        summary: 'Your API keys that are not revoked, newest first (never their secrets)',
        security,
        querystring: PageQuery,
        response: { 200: ApiKeyPage, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      return app.apiKeys.list(request.principal!.userId, limit, cursor);
    },
  );

  app.delete(
    '/api/v1/api-keys/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key (idempotent)',
        security,
        params: ApiKeyParams,
        response: {
          204: z.null().describe('Revoked (or already revoked)'),
          401: Problem,
          403: Problem,
          404: Problem,
        },
      },
    },
    async (request, reply) => {
      const found = await app.apiKeys.revoke(
        auditContext(request),
        request.principal!.userId,
        request.params.id,
      );
      // Another user's key answers exactly as a missing one (docs/security.md, "Tenant isolation").
      if (!found) throw new ProblemError('not_found', 'No such API key.');
      return reply.code(204).send(null);
    },
  );
};
