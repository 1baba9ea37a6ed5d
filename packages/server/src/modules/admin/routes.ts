import {
  AdminUser,
  AdminUserListQuery,
  AdminUserPage,
  AdminUserParams,
  AdminUserUpdate,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditContext } from '../audit/context.js';
import type { AdminService } from './service.js';

const security: Record<string, string[]>[] = [{ session: [] }, { bearer: [] }];
const problems = { 400: Problem, 401: Problem, 403: Problem };

/**
 * Administration (`/api/v1/admin/users`): list and search accounts, set a plan or Enterprise limits, suspend
 * or reinstate. Admins signed in with a session only (`requireAdmin` refuses API keys); every change is
 * audited. The rules live in {@link AdminService}.
 */
export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  const { admin } = app;

  app.get(
    '/api/v1/admin/users',
    {
      preParsing: app.requireAdmin,
      config: { apiKeys: false },
      schema: {
        tags: ['admin'],
        summary: 'List and search users, newest first',
        security,
        querystring: AdminUserListQuery,
        response: { 200: AdminUserPage, ...problems },
      },
    },
    async (request) => admin.list(request.query),
  );

  app.patch(
    '/api/v1/admin/users/:id',
    {
      preParsing: app.requireAdmin,
      config: { apiKeys: false },
      schema: {
        tags: ['admin'],
        summary: "Set a user's plan or Enterprise limits, or suspend or reinstate them",
        security,
        params: AdminUserParams,
        body: AdminUserUpdate,
        response: { 200: AdminUser, ...problems, 404: Problem },
      },
    },
    async (request) =>
      admin.update(auditContext(request), request.principal!.userId, request.params.id, request.body),
  );
};
