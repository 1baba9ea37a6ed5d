import {
  Agent,
  AgentPage,
  AgentParams,
  CreateAgentRequest,
  PageQuery,
  Problem,
  UpdateAgentRequest,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const notFoundAgent = () => new ProblemError('not_found', 'No such agent.');

/**
 * Agents: `/api/v1/agents` create, list, get, change and delete, within the plan's agent count. HTTP only:
 * the rules live in `app.agents`. Another user's agent answers 404 exactly as a missing one. Running an
 * agent (`POST /api/v1/agents/:id/execute`) is in src/modules/executions/routes.ts.
 */
export const agentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/api/v1/agents',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['agents'],
        summary: 'Create an agent',
        security,
        body: CreateAgentRequest,
        response: { 201: Agent, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      const agent = await app.agents.create(auditContext(request), userId, request.body);
      app.me.forget(userId);
      return reply.code(201).send(agent);
    },
  );

  app.get(
    '/api/v1/agents',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['agents'],
        summary: 'Your agents, newest first',
        security,
        querystring: PageQuery,
        response: { 200: AgentPage, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => app.agents.list(request.principal!.userId, request.query.limit, request.query.cursor),
  );

  app.get(
    '/api/v1/agents/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['agents'],
        summary: 'One agent',
        security,
        params: AgentParams,
        response: { 200: Agent, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const agent = await app.agents.get(request.principal!.userId, request.params.id);
      if (!agent) throw notFoundAgent();
      return agent;
    },
  );

  app.patch(
    '/api/v1/agents/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['agents'],
        summary: 'Change an agent',
        security,
        params: AgentParams,
        body: UpdateAgentRequest,
        response: { 200: Agent, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const agent = await app.agents.update(
        auditContext(request),
        request.principal!.userId,
        request.params.id,
        request.body,
      );
      if (!agent) throw notFoundAgent();
      return agent;
    },
  );

  app.delete(
    '/api/v1/agents/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['agents'],
        summary: 'Delete an agent (its executions stay)',
        security,
        params: AgentParams,
        response: {
          204: z.null().describe('Deleted'),
          401: Problem,
          403: Problem,
          404: Problem,
          409: Problem,
        },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      if (!(await app.agents.delete(auditContext(request), userId, request.params.id))) throw notFoundAgent();
      app.me.forget(userId);
      return reply.code(204).send(null);
    },
  );
};
