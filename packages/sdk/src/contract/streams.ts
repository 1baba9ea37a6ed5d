import type { z } from 'zod';
import { AUDIT_STREAM_EVENT, AuditEvent } from './audit.js';
import { ChatEventSchemas } from './chat.js';
import { ExecutionEventSchemas } from './executions.js';
import { Problem } from './problem.js';

/**
 * Every Server-Sent Events stream of the API, as typed unions: one map per stream from event type to the
 * zod schema of its JSON `data`. The server formats events through these types (an event a map does not
 * declare does not compile) and the SDK decodes them with the same schemas.
 *
 * - audit (`GET /api/v1/audit-events/stream`, `GET /api/v1/admin/audit-events/stream`):
 *   {@link AuditStreamEventSchemas};
 * - executions (`POST /api/v1/agents/:id/execute` streaming, `GET /api/v1/executions/:id/events`):
 *   {@link ExecutionEventSchemas};
 * - chat (`POST /api/v1/chat` streaming, `GET /api/v1/conversations/:id/stream`): {@link ChatEventSchemas};
 * - on any of them, a last {@link StreamErrorEventSchemas} `error` event when the credential that opened
 *   the stream stops being valid.
 */

/** A map from event type to the zod schema of its JSON `data`. */
export type EventSchemas = Record<string, z.ZodType>;

/**
 * One event of the stream described by `M`, as the server writes it: `{ event, data }` with `data` typed
 * by the schema of that `event`.
 */
export type SseEvent<M extends EventSchemas> = {
  [K in keyof M & string]: { event: K; data: z.input<M[K]> };
}[keyof M & string];

/** `data` of each audit stream event type: one `audit.event` per recorded event, its id the SSE `id:`. */
export const AuditStreamEventSchemas = { [AUDIT_STREAM_EVENT]: AuditEvent } as const;

/** The event type of the last event of a stream whose credential stopped being valid. */
export const STREAM_ERROR_EVENT = 'error';

/**
 * The last event of any stream whose credential stopped being valid (API key revoked, disabled or
 * expired; session ended; access token expired; account suspended or scheduled for deletion): `data` is
 * the RFC 9457 problem a new request with that credential would get, and the stream ends.
 */
export const StreamErrorEventSchemas = { [STREAM_ERROR_EVENT]: Problem } as const;

/** Every stream's event map, by stream. */
export const StreamEventSchemas = {
  audit: AuditStreamEventSchemas,
  execution: ExecutionEventSchemas,
  chat: ChatEventSchemas,
  credential: StreamErrorEventSchemas,
} as const;
