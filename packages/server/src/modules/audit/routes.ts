import {
  AdminAuditEventListQuery,
  AuditEmptyQuery,
  AuditEventListQuery,
  AuditEventPage,
  AuditVerifyResponse,
  Problem,
} from '@fleece/sdk/contract';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { serveStream } from '../../streams/serve.js';
import { AuditTopic } from './notifier.js';
import { type AuditScope, auditContext } from './service.js';

/** Headers the stream route reads; any other header is allowed. */
const StreamHeaders = z.object({
  'last-event-id': z
    .string()
    .optional()
    .describe('The id of the last event received; the stream replays what came after it.'),
});

const problems = { 400: Problem, 401: Problem, 403: Problem };
/** The stream's 200 answer is `text/event-stream`, not JSON; described for OpenAPI only. */
const EventStream = z
  .string()
  .describe('text/event-stream: `event: audit.event` with `id: evt_…` and JSON data');

type View = 'list' | 'stream' | 'verify';

/**
 * The audit log API. `/api/v1/audit-events` serves the caller's own log; `/api/v1/admin/audit-events` the
 * same three views over every log, for admins. Each read records `audit.accessed` in the reader's own log,
 * at most once per reader, view and minute. API keys need the `audit:read` scope (admin routes take no key).
 */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const accessed = (request: FastifyRequest, scope: AuditScope, view: View) => {
    const principal = request.principal!;
    const all = scope.kind === 'all';
    return app.audit.recordDetached(
      auditContext(request),
      {
        action: 'audit.accessed',
        resourceType: 'audit_log',
        outcome: 'success',
        metadata: { view, scope: all ? 'all' : 'own' },
      },
      { throttleKey: `audit.accessed:${principal.userId}:${all ? 'all' : 'own'}:${view}` },
    );
  };

  for (const admin of [false, true]) {
    const base = admin ? '/api/v1/admin/audit-events' : '/api/v1/audit-events';
    const tags = admin ? ['admin', 'audit'] : ['audit'];
    const guard = admin ? app.requireAdmin : app.requireAuth;
    const scopeOf = (request: FastifyRequest): AuditScope =>
      admin ? { kind: 'all' } : { kind: 'user', userId: request.principal!.userId };

    app.get(
      base,
      {
        preParsing: guard,
        config: { scope: 'audit:read' },
        schema: {
          tags,
          summary: admin ? 'Every audit event, newest first' : 'Your audit events, newest first',
          security: [{ bearer: [] }, { session: [] }],
          querystring: admin ? AdminAuditEventListQuery : AuditEventListQuery,
          response: { 200: AuditEventPage, ...problems },
        },
      },
      async (request) => {
        const scope = scopeOf(request);
        const page = await app.audit.list(scope, request.query);
        await accessed(request, scope, 'list');
        return page;
      },
    );

    app.get(
      `${base}/verify`,
      {
        preParsing: guard,
        config: { scope: 'audit:read' },
        schema: {
          tags,
          summary: admin ? 'Verify every audit hash chain' : 'Verify your audit hash chain',
          security: [{ bearer: [] }, { session: [] }],
          querystring: AuditEmptyQuery,
          response: { 200: AuditVerifyResponse, ...problems },
        },
      },
      async (request) => {
        const scope = scopeOf(request);
        const result = await app.audit.verify(scope);
        await accessed(request, scope, 'verify');
        return result;
      },
    );

    app.get(
      `${base}/stream`,
      {
        preParsing: guard,
        config: { scope: 'audit:read' },
        schema: {
          tags,
          summary: admin ? 'Live stream of every audit event' : 'Live stream of your audit events',
          description:
            'Server-Sent Events. Send `Last-Event-ID` to replay what came after that event first; an id that is not one of yours replays the last 24 hours. A `: ping` comment every 15 s keeps the connection open. When the credential that opened the stream stops being valid (API key revoked, disabled or expired; session ended; access token expired; account suspended or scheduled for deletion), the stream sends a last `event: error` whose data is the problem a new request would get, and ends.',
          security: [{ bearer: [] }, { session: [] }],
          querystring: AuditEmptyQuery,
          headers: StreamHeaders,
          response: { 200: EventStream, ...problems },
        },
      },
      async (request, reply) => {
        const scope = scopeOf(request);
        await accessed(request, scope, 'stream');
        const start = await app.audit.streamStart(scope, request.headers['last-event-id']);
        const topic = new AuditTopic(start.scope);
        await serveStream(app, request, reply, (sink) => app.audit.stream.open(topic, start.afterId, sink));
      },
    );
  }
};
