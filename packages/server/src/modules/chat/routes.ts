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
import { ProviderError } from '../ai/providers/errors.js';
import { auditContext } from '../audit/context.js';
import { replySink } from '../audit/stream.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const notFound = () => new ProblemError('not_found', 'No such conversation.');

/**
 * Chat and conversations: `POST /api/v1/chat` (JSON or Server-Sent Events; limit `chat`; one execution of the
 * monthly quota per call), `GET /api/v1/conversations`, `GET` and `DELETE /api/v1/conversations/:id`. The
 * rules live in `app.chat`.
 */
export const chatRoutes: FastifyPluginAsyncZod = async (app) => {
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
      const turn = await app.chat.prepare(userId, request.body);
      const streaming = request.body.stream ?? /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
      const abort = new AbortController();
      const res = reply.raw;
      if (!streaming) {
        const onClose = () => {
          if (!res.writableFinished) abort.abort();
        };
        reply.raw.on('close', onClose);
        try {
          return await app.chat.reply(userId, turn, () => {}, abort.signal);
        } catch (error) {
          if (error instanceof ProviderError) throw new ProblemError('service_unavailable', error.message);
          throw error;
        } finally {
          reply.raw.off('close', onClose);
        }
      }
      const sink = replySink(reply);
      let id = 0;
      const send = async (event: string, data: unknown) => {
        if (!sink.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`))
          await sink.waitForDrain();
      };
      let ended = false;
      res.on('close', () => {
        if (!ended) abort.abort();
      });
      reply.hijack();
      sink.head();
      res.flushHeaders();
      await send('conversation', { conversationId: turn.conversationId });
      try {
        const result = await app.chat.reply(
          userId,
          turn,
          (text) => send('message.delta', { text }),
          abort.signal,
        );
        await send('message.completed', result);
      } catch (error) {
        if (!(error instanceof ProviderError)) app.log.error({ err: error }, 'chat reply failed');
        await send('error', {
          code: error instanceof ProviderError ? error.code : 'internal_error',
        });
      }
      await send('done', {});
      ended = true;
      sink.end();
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
      return reply.code(204).send(null);
    },
  );
};
