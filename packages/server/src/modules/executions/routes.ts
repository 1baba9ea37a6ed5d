import {
  Agent,
  AgentPage,
  AgentParams,
  CreateAgentRequest,
  ExecuteAgentRequest,
  Execution,
  ExecutionListQuery,
  ExecutionPage,
  ExecutionParams,
  PageQuery,
  Problem,
  UpdateAgentRequest,
} from '@fleece/sdk/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { lastEventSeq, serveStream } from '../../streams/serve.js';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header, validated (1–255 printable ASCII characters). */
function idempotencyKey(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new ProblemError(
      'validation_failed',
      'The request is not valid: headers.idempotency-key: 1–255 printable ASCII characters.',
      { errors: [{ path: 'headers.idempotency-key', message: '1–255 printable ASCII characters' }] },
    );
  }
  return value;
}

/** The `Last-Event-ID` header as a stream position: a non-negative integer, else 0 (from the start). */
function lastEventId(request: FastifyRequest): number {
  return lastEventSeq(request) ?? 0;
}

function wantsStream(request: FastifyRequest, stream: boolean | undefined): boolean {
  if (stream !== undefined) return stream;
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
}

const notFoundAgent = () => new ProblemError('not_found', 'No such agent.');
const notFoundExecution = () => new ProblemError('not_found', 'No such execution.');

/**
 * Agents and executions (issue 6): `/api/v1/agents` CRUD, `POST /api/v1/agents/:id/execute` (JSON or
 * Server-Sent Events; `Idempotency-Key`; limit `agentExecute`; monthly quota), `/api/v1/executions` list, get, events
 * (SSE replay with `Last-Event-ID`) and cancel. HTTP only: the rules live in `app.agents` and
 * `app.executions`. Another user's agent or execution answers 404 exactly as a missing one.
 */
export const executionRoutes: FastifyPluginAsyncZod = async (app) => {
  /**
   * Serves the stream of execution `id` on `reply` from after `afterSeq` until `done`; `onGone` is called
   * when the client goes away before `done`.
   */
  const stream = (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    afterSeq: number,
    onGone?: () => void,
  ): Promise<void> =>
    serveStream(
      app,
      request,
      reply,
      (sink) => app.executions.hub.open(request.principal!.userId, id, afterSeq, sink),
      onGone ? { onGone } : {},
    );

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

  app.post(
    '/api/v1/agents/:id/execute',
    {
      preParsing: [app.requireAuth, app.requireConsent('ai_processing')],
      config: { limit: 'agentExecute', scope: 'agents:execute' },
      schema: {
        tags: ['agents'],
        summary:
          'Run an agent: JSON (201, the finished execution; 200 for an Idempotency-Key replay), or Server-Sent Events with `Accept: text/event-stream` or `stream: true`',
        security,
        params: AgentParams,
        body: ExecuteAgentRequest,
        response: { 200: Execution, 201: Execution, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      const ctx = auditContext(request);
      const key = idempotencyKey(request);
      const started = await app.executions.start(ctx, userId, request.params.id, request.body.input, key);
      const { execution } = started;
      const streaming = wantsStream(request, request.body.stream);
      if (streaming) {
        const disconnect = new AbortController();
        if (!started.replayed)
          void app.executions.run(ctx, execution, userId, started.plan!, disconnect.signal);
        await stream(request, reply, execution.id, lastEventId(request), () => {
          if (!started.replayed) disconnect.abort();
        });
        return reply;
      }
      if (started.replayed) return reply.code(200).send((await app.executions.get(userId, execution.id))!);
      const disconnect = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) disconnect.abort();
      };
      reply.raw.on('close', onClose);
      try {
        await app.executions.run(ctx, execution, userId, started.plan!, disconnect.signal);
      } finally {
        reply.raw.off('close', onClose);
      }
      return reply.code(201).send((await app.executions.get(userId, execution.id))!);
    },
  );

  app.get(
    '/api/v1/executions',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['executions'],
        summary: 'Your executions, newest first (filters: agentId, flowId, status)',
        security,
        querystring: ExecutionListQuery,
        response: { 200: ExecutionPage, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => app.executions.list(request.principal!.userId, request.query),
  );

  app.get(
    '/api/v1/executions/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['executions'],
        summary: 'One execution',
        security,
        params: ExecutionParams,
        response: { 200: Execution, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const execution = await app.executions.get(request.principal!.userId, request.params.id);
      if (!execution) throw notFoundExecution();
      return execution;
    },
  );

  app.get(
    '/api/v1/executions/:id/events',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['executions'],
        summary:
          'The Server-Sent Events of an execution, replayed from the start or after Last-Event-ID, then live until done',
        security,
        params: ExecutionParams,
        response: { 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      if (!(await app.executions.get(userId, request.params.id))) throw notFoundExecution();
      await stream(request, reply, request.params.id, lastEventId(request));
      return reply;
    },
  );

  app.post(
    '/api/v1/executions/:id/cancel',
    {
      preParsing: app.requireAuth,
      config: { scope: 'agents:execute' },
      schema: {
        tags: ['executions'],
        summary: 'Cancel a queued or running execution (a finished one is returned unchanged)',
        security,
        params: ExecutionParams,
        response: { 200: Execution, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const execution = await app.executions.cancel(
        auditContext(request),
        request.principal!.userId,
        request.params.id,
      );
      if (!execution) throw notFoundExecution();
      return execution;
    },
  );
};
