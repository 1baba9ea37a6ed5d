import {
  AgentParams,
  ExecuteAgentRequest,
  Execution,
  ExecutionListQuery,
  ExecutionPage,
  ExecutionParams,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProblemError } from '../../errors.js';
import { lastEventSeq, serveStream } from '../../streams/serve.js';
import { auditContext } from '../audit/context.js';
import { consentRequired } from '../consents/service.js';

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

const notFoundExecution = () => new ProblemError('not_found', 'No such execution.');

/**
 * Executions: `POST /api/v1/agents/:id/execute` (JSON or Server-Sent Events; `Idempotency-Key`; limit
 * `agentExecute`;
 * monthly quota), `/api/v1/executions` list, get, events (SSE replay with `Last-Event-ID`) and cancel. HTTP
 * only: the rules live in `app.executions`. Another user's agent or execution answers 404 exactly as a
 * missing one. The agents' own routes are in src/modules/agents/routes.ts.
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
    '/api/v1/agents/:id/execute',
    {
      // The ai_processing consent is checked in the start transaction (one round trip fewer).
      preParsing: app.requireAuth,
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
      const started = await app.executions.start(
        ctx,
        userId,
        request.params.id,
        request.body.input,
        key,
        undefined,
        {
          running: true,
          guard: async (tx) => {
            if (!(await app.consents.holds(tx, userId, 'ai_processing')))
              throw consentRequired(app.config.publicUrl, 'ai_processing');
          },
        },
      );
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
      let ended: Execution | undefined;
      try {
        ended = await app.executions.run(ctx, execution, userId, started.plan!, disconnect.signal);
      } finally {
        reply.raw.off('close', onClose);
      }
      return reply.code(201).send(ended ?? (await app.executions.get(userId, execution.id))!);
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
