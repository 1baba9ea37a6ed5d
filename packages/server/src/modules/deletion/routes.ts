import { AccountDeletion, Problem } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProblemError } from '../../errors.js';
import { auditContext } from '../audit/context.js';

/**
 * Account deletion routes (issue 7; docs/api.md "Account deletion"):
 *
 * - `GET /api/v1/account/deletion`: the deletion state (also for an account pending deletion);
 * - `POST /api/v1/account/deletion`: request deletion. Sessions only, signed in within the last 10 minutes;
 *   202 with the purge date. Every credential of the account is revoked, the current session included
 *   (the session cookie is cleared);
 * - `POST /api/v1/account/deletion/cancel`: restore the account within the grace period (sessions only;
 *   an account pending deletion signs in again to call it).
 */
export const deletionRoutes: FastifyPluginAsyncZod = async (app) => {
  const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

  app.get(
    '/api/v1/account/deletion',
    {
      preParsing: app.requireAuth,
      config: { allowPendingDeletion: true },
      schema: {
        tags: ['account'],
        summary: "The account's deletion state: pending or not, and the purge date",
        security,
        response: { 200: AccountDeletion },
      },
    },
    async (request) => app.accountDeletion.status(request.principal!.userId),
  );

  app.post(
    '/api/v1/account/deletion',
    {
      preParsing: app.requireAuth,
      config: { apiKeys: false },
      schema: {
        tags: ['account'],
        summary: 'Delete the account after a grace period (needs a sign-in within the last 10 minutes)',
        security,
        response: { 202: AccountDeletion },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      if (principal.type !== 'session' || !principal.sessionId) {
        throw new ProblemError('forbidden', 'Only a signed-in session can delete the account.');
      }
      const state = await app.accountDeletion.request(auditContext(request), {
        userId: principal.userId,
        sessionId: principal.sessionId,
      });
      // The request revoked this session too.
      if (request.authViaCookie) app.clearSessionCookie(reply);
      return reply.code(202).send(state);
    },
  );

  app.post(
    '/api/v1/account/deletion/cancel',
    {
      preParsing: app.requireAuth,
      config: { apiKeys: false, allowPendingDeletion: true },
      schema: {
        tags: ['account'],
        summary: 'Cancel a pending account deletion within the grace period',
        security,
        response: { 200: AccountDeletion, 409: Problem },
      },
    },
    async (request) => app.accountDeletion.cancel(auditContext(request), request.principal!.userId),
  );
};
