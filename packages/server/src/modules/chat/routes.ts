import {
  ChatRequest,
  ChatResponse,
  ConversationDetail,
  ConversationListQuery,
  ConversationPage,
  ConversationParams,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../../errors.js';
import { lastEventSeq, serveStream } from '../../streams/serve.js';
import { ProviderError } from '../ai/providers/errors.js';
import { auditContext } from '../audit/context.js';
import type { PreparedTurn } from './service.js';
import { type ChatTurn, ChatTurns } from './turns.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const notFound = () => new ProblemError('not_found', 'No such conversation.');

/** Headers the resume route reads; any other header is allowed. */
const StreamHeaders = z.object({
  'last-event-id': z
    .string()
    .optional()
    .describe('The id of the last event received; the stream resumes after it (from the start without it).'),
});

/**
 * Chat and conversations: `POST /api/v1/chat` (JSON or Server-Sent Events; limit `chat`; one execution of
 * the monthly quota per call), `GET /api/v1/conversations`, `GET` and `DELETE /api/v1/conversations/:id`,
 * and `GET /api/v1/conversations/:id/stream`, which resumes a streamed reply after `Last-Event-ID`. The
 * rules live in `app.chat`; streamed replies run in {@link ChatTurns}, independent of the connection.
 */
export const chatRoutes: FastifyPluginAsyncZod = async (app) => {
  const turns = new ChatTurns(app.database, app.log);
  app.addHook('preClose', () => turns.close());

  /** Runs the reply of `prepared` into `turn`: `conversation`, the deltas, the outcome, `done`. */
  const run = async (userId: string, prepared: PreparedTurn, turn: ChatTurn): Promise<void> => {
    turns.push(turn, { event: 'conversation', data: { conversationId: prepared.conversationId } });
    try {
      const result = await app.chat.reply(
        userId,
        prepared,
        (text) => turns.push(turn, { event: 'message.delta', data: { text } }),
        turn.abort.signal,
      );
      turns.push(turn, { event: 'message.completed', data: result });
    } catch (error) {
      if (!(error instanceof ProviderError)) app.log.error({ err: error }, 'chat reply failed');
      turns.push(turn, {
        event: 'error',
        data: { code: error instanceof ProviderError ? error.code : 'internal_error' },
      });
    }
    turns.push(turn, { event: 'done', data: {} });
  };

  app.post(
    '/api/v1/chat',
    {
      preParsing: [app.requireAuth, app.requireConsent('ai_processing')],
      config: { limit: 'chat' },
      schema: {
        tags: ['chat'],
        summary:
          'Start or continue a conversation and answer the reply: JSON, or Server-Sent Events with `Accept: text/event-stream` or `stream: true`',
        security,
        body: ChatRequest,
        response: { 200: ChatResponse, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      const prepared = await app.chat.prepare(userId, request.body);
      const streaming = request.body.stream ?? /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
      if (!streaming) {
        const abort = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) abort.abort();
        };
        reply.raw.on('close', onClose);
        try {
          return await app.chat.reply(userId, prepared, () => {}, abort.signal);
        } catch (error) {
          if (error instanceof ProviderError) throw new ProblemError('service_unavailable', error.message);
          throw error;
        } finally {
          reply.raw.off('close', onClose);
        }
      }
      const turn = turns.begin(userId, prepared.conversationId);
      await serveStream(app, request, reply, (sink) => turns.open(turn, 0, sink), {
        onGone: () => turns.left(turn),
      });
      void run(userId, prepared, turn);
      return reply;
    },
  );

  app.get(
    '/api/v1/conversations',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['chat'],
        summary: 'Your conversations, most recently active first',
        security,
        querystring: ConversationListQuery,
        response: { 200: ConversationPage, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => app.chat.list(request.principal!.userId, request.query.limit, request.query.cursor),
  );

  app.get(
    '/api/v1/conversations/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['chat'],
        summary: 'One conversation with its messages',
        security,
        params: ConversationParams,
        response: { 200: ConversationDetail, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const conversation = await app.chat.get(request.principal!.userId, request.params.id);
      if (!conversation) throw notFound();
      return conversation;
    },
  );

  app.get(
    '/api/v1/conversations/:id/stream',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['chat'],
        summary: 'Resume the streamed reply of a conversation after Last-Event-ID, live until done',
        description:
          'Server-Sent Events: the events of the conversation’s latest streamed reply (`POST /api/v1/chat` with streaming) with an id above `Last-Event-ID` (all of them without it), then the rest live until `done`. A reply whose stream dropped goes on for 10 s waiting for this resume, and is cancelled after that. The events are kept by the server that runs the reply, while it runs and for 60 s after `done`; otherwise (or for a conversation not yours) 404. When the credential that opened the stream stops being valid, the stream sends a last `event: error` whose data is the problem a new request would get, and ends.',
        security,
        params: ConversationParams,
        headers: StreamHeaders,
        response: { 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const turn = turns.get(request.principal!.userId, request.params.id);
      if (!turn) throw new ProblemError('not_found', 'No streamed reply of this conversation to resume.');
      const after = lastEventSeq(request) ?? 0;
      await serveStream(app, request, reply, (sink) => turns.open(turn, after, sink), {
        onGone: () => turns.left(turn),
      });
      return reply;
    },
  );

  app.delete(
    '/api/v1/conversations/:id',
    {
      preParsing: app.requireAuth,
      schema: {
        tags: ['chat'],
        summary: 'Delete a conversation and its messages',
        security,
        params: ConversationParams,
        response: { 204: z.null().describe('Deleted'), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      if (!(await app.chat.delete(auditContext(request), request.principal!.userId, request.params.id))) {
        throw notFound();
      }
      turns.drop(request.principal!.userId, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
