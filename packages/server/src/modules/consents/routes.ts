import { Consent, ConsentList, ConsentParams, Problem, SetConsentRequest } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

/**
 * Consents (issue 7): `GET /api/v1/account/consents` (every type with its policy version and when it was
 * decided) and `PUT /api/v1/account/consents/:type` with `{granted}`. Granting or revoking is the person's
 * own decision, so API keys may read consents but not change them (403 `forbidden`). The rules live in
 * `app.consents`.
 */
export const consentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/account/consents',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['account'],
        summary: 'Your consents (AI processing, product email, terms), with policy versions',
        security,
        response: { 200: ConsentList, 401: Problem, 403: Problem },
      },
    },
    async (request) => ({ data: await app.consents.list(request.principal!.userId) }),
  );

  app.put(
    '/api/v1/account/consents/:type',
    {
      preParsing: app.requireAuth,
      config: { apiKeys: false },
      schema: {
        tags: ['account'],
        summary: 'Grant (for the current policy version) or revoke one consent',
        security,
        params: ConsentParams,
        body: SetConsentRequest,
        response: { 200: Consent, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) =>
      app.consents.set(
        auditContext(request),
        request.principal!.userId,
        request.params.type,
        request.body.granted,
      ),
  );
};
