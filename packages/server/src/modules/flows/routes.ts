import {
  CreatedFlow,
  CreateFlowRequest,
  Execution,
  Flow,
  FlowPage,
  FlowParams,
  FlowRunPage,
  IdempotencyKeyHeaders,
  PageQuery,
  Problem,
  TriggerFlowRequest,
  UpdateFlowRequest,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const notFound = () => new ProblemError('not_found', 'No such flow.');

/**
 * Flows: `/api/v1/flows` CRUD, `POST /api/v1/flows/:id/trigger` (202, the queued run; limit `flowTrigger`;
 * 409 `flow_already_running`; the `ai_processing` consent; `Idempotency-Key`, a replay answering 200) and
 * `GET /api/v1/flows/:id/executions` (its runs). HTTP only: the rules live in `app.flows`. Another user's flow
 * answers 404 exactly as a missing one.
 */
export const flowRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/api/v1/flows',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: 'Create a flow (with a callbackUrl, the answer carries its signing secret, shown once)',
        security,
        body: CreateFlowRequest,
        response: { 201: CreatedFlow, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const flow = await app.flows.create(auditContext(request), request.principal!.userId, request.body);
      return reply.code(201).send(flow);
    },
  );

  app.get(
    '/api/v1/flows',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: 'Your flows, newest first',
        security,
        querystring: PageQuery,
        response: { 200: FlowPage, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => app.flows.list(request.principal!.userId, request.query.limit, request.query.cursor),
  );

  app.get(
    '/api/v1/flows/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: 'One flow',
        security,
        params: FlowParams,
        response: { 200: Flow, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const flow = await app.flows.get(request.principal!.userId, request.params.id);
      if (!flow) throw notFound();
      return flow;
    },
  );

  app.patch(
    '/api/v1/flows/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: 'Change a flow (a new callbackUrl issues a new signing secret, shown once)',
        security,
        params: FlowParams,
        body: UpdateFlowRequest,
        response: { 200: CreatedFlow, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const flow = await app.flows.update(
        auditContext(request),
        request.principal!.userId,
        request.params.id,
        request.body,
      );
      if (!flow) throw notFound();
      return flow;
    },
  );

  app.delete(
    '/api/v1/flows/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: 'Delete a flow and its schedule (its runs stay)',
        security,
        params: FlowParams,
        response: { 204: z.null().describe('Deleted'), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      if (!(await app.flows.delete(auditContext(request), request.principal!.userId, request.params.id))) {
        throw notFound();
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/flows/:id/trigger',
    {
      preParsing: [app.requireAuth, app.requireConsent('ai_processing')],
      config: { limit: 'flowTrigger', scope: 'flows:trigger' },
      schema: {
        tags: ['flows'],
        summary:
          'Queue a run of a flow (202, the queued run; 200 for an Idempotency-Key replay, the run as it is now; 409 flow_already_running while one is queued or running)',
        security,
        params: FlowParams,
        headers: IdempotencyKeyHeaders,
        body: TriggerFlowRequest,
        response: {
          200: Execution,
          202: Execution,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          409: Problem,
        },
      },
    },
    async (request, reply) => {
      const { run, replayed } = await app.flows.trigger(
        auditContext(request),
        request.principal!.userId,
        request.params.id,
        request.body.input,
        'api',
        request.headers['idempotency-key'],
      );
      return reply
        .code(replayed ? 200 : 202)
        .header('location', `/api/v1/executions/${run.id}`)
        .send(run);
    },
  );

  app.get(
    '/api/v1/flows/:id/executions',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['flows'],
        summary: "A flow's runs, newest first (each run's steps: GET /api/v1/executions?parentId=)",
        security,
        params: FlowParams,
        querystring: PageQuery,
        response: { 200: FlowRunPage, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const page = await app.flows.runs(
        request.principal!.userId,
        request.params.id,
        request.query.limit,
        request.query.cursor,
      );
      if (!page) throw notFound();
      return page;
    },
  );
};
