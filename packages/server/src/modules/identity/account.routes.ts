import {
  MeResponse,
  MeUpdate,
  PageQuery,
  RevokeSessionsResponse,
  SessionList,
  SessionParams,
  User,
} from '@fleece/sdk/contract';
import { eq } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { users } from '../../db/schema/identity.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import { auditContext } from '../audit/context.js';
import type { IdentityServices } from './service.js';
import { toUser } from './users.service.js';

/**
 * The caller's own account: `GET /api/v1/me`, `PATCH /api/v1/me` (the display name), and their sessions (`GET /api/v1/sessions`,
 * `DELETE /api/v1/sessions/:id`, `DELETE /api/v1/sessions` for every session but the current one).
 */
export const accountRoutes: FastifyPluginAsyncZod<{ services: IdentityServices }> = async (app) => {
  const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

  app.get(
    '/api/v1/me',
    {
      preParsing: app.requireAuth,
      // An account pending deletion still sees its profile (status `pending_deletion`).
      config: { allowPendingDeletion: true },
      schema: {
        tags: ['me'],
        summary: 'The caller: account, plan, entitlements, usage',
        security,
        response: { 200: MeResponse },
      },
    },
    async (request, reply) => {
      const me = await app.me.get(request.principal!.userId);
      if (!me) throw new ProblemError('unauthenticated', 'This account no longer exists.');
      const { apiBurstPerMinute: perMinute, apiPerDay: perDay } = me.entitlements;
      const apiRequests = await app.apiRequestUsage(request, { perMinute, perDay });
      const body: MeResponse = apiRequests ? { ...me, usage: { ...me.usage, apiRequests } } : me;
      // The view is built by the server from the contract's own types; serialising it directly instead of
      // re-validating it on every call keeps this hot path cheap (bench/auth).
      return reply
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(body) as unknown as MeResponse);
    },
  );

  app.patch(
    '/api/v1/me',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['me'],
        summary: 'Change your display name',
        description:
          'Sets (or, with `null`, removes) the display name shown on your account. Audited as `account.updated`; the log records which field changed, not the name.',
        security,
        body: MeUpdate,
        response: { 200: User },
      },
    },
    async (request) => {
      const userId = request.principal!.userId;
      const { name } = request.body;
      const { row, payload } = await withUser(app.db, userId, async (tx) => {
        const [current] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
        if (!current) throw new ProblemError('unauthenticated', 'This account no longer exists.');
        if (current.name === name) return { row: current, payload: undefined };
        const [updated] = await tx
          .update(users)
          .set({ name, updatedAt: app.clock.now() })
          .where(eq(users.id, userId))
          .returning();
        await app.audit.record(tx, auditContext(request), {
          action: 'account.updated',
          resourceType: 'user',
          resourceId: userId,
          outcome: 'success',
          subjectUserId: userId,
          metadata: { fields: ['name'], removed: name === null },
        });
        return { row: updated!, payload: await app.invalidations.announce(tx, `u:${userId}`) };
      });
      app.invalidations.afterCommit(payload);
      return toUser(row);
    },
  );

  app.get(
    '/api/v1/sessions',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['sessions'],
        summary: "The caller's active sessions, newest first",
        security,
        querystring: PageQuery,
        response: { 200: SessionList },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await app.sessions.list(
        request.principal!.userId,
        request.principal!.sessionId,
        limit,
        cursor,
      );
      if (!page) {
        throw new ProblemError(
          'validation_failed',
          'The request is not valid: query.cursor: unknown cursor.',
          {
            errors: [{ path: 'query.cursor', message: 'unknown cursor' }],
          },
        );
      }
      return page;
    },
  );

  app.delete(
    '/api/v1/sessions/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['sessions'],
        summary: 'Revoke one of your sessions',
        security,
        params: SessionParams,
        response: { 204: z.null().describe('Revoked') },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const id = request.params.id;
      const payload = await withUser(app.db, principal.userId, async (tx) => {
        const revoked = await app.sessions.revoke(tx, id, 'revoked_by_user', principal.userId);
        if (!revoked) return undefined;
        await app.audit.record(tx, auditContext(request), {
          action: 'session.revoked',
          resourceType: 'session',
          resourceId: id,
          outcome: 'success',
          subjectUserId: principal.userId,
          metadata: { reason: 'revoked_by_user' },
        });
        return revoked.payload;
      });
      if (!payload) throw new ProblemError('not_found', `No active session ${id.slice(0, 64)} exists.`);
      app.sessions.afterCommit(payload);
      if (id === principal.sessionId && request.authViaCookie) app.clearSessionCookie(reply);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/v1/sessions',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['sessions'],
        summary: 'Revoke every session but the current one',
        security,
        response: { 200: RevokeSessionsResponse },
      },
    },
    async (request) => {
      const principal = request.principal!;
      const { ids, payload } = await withUser(app.db, principal.userId, async (tx) => {
        const result = await app.sessions.revokeAllExcept(
          tx,
          principal.userId,
          principal.sessionId,
          'revoked_by_user',
        );
        for (const id of result.ids) {
          await app.audit.record(tx, auditContext(request), {
            action: 'session.revoked',
            resourceType: 'session',
            resourceId: id,
            outcome: 'success',
            subjectUserId: principal.userId,
            metadata: { reason: 'revoke_others' },
          });
        }
        return result;
      });
      if (payload) app.sessions.afterCommit(payload);
      return { revoked: ids.length };
    },
  );
};
