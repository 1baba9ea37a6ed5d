import pinoPretty, { type PrettyOptions } from 'pino-pretty';

/**
 * The development log format (`LOG_FORMAT=pretty`, the default at a terminal outside production): pino-pretty
 * with one line per record. pino runs this module as a transport in a worker thread and hands it lines that
 * were already redacted (src/logger.ts); it only changes how they look:
 *
 *     [14:02:11] INFO: → GET /api/v1/agents?limit=20 (req_6f…)
 *     [14:02:11] INFO: ← GET /api/v1/agents?limit=20 200 in 12 ms (req_6f…)
 *     [14:02:12] INFO: dev outbox: magic sign-in link: http://127.0.0.1:3000/… {"to":"ada@example.com","expiresInMinutes":15}
 *
 * Fields not named in the message follow it on the same line as JSON; an error's stack still follows on
 * the next lines.
 */

/** Requests in flight remembered for their completion line (Fastify logs the method and URL only on arrival). */
const MAX_IN_FLIGHT = 1000;

/** Fields shown in the message of a request line, or not worth a place on a line at all. */
export const HIDDEN_FIELDS = ['pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'outbox', 'link'];

/**
 * Builds the message of one development log line from a pino record: `→ METHOD URL` for Fastify's
 * "incoming request", `← METHOD URL STATUS in N ms` for "request completed" (the method and URL
 * remembered from the arrival, by request id, in `inFlight`), the record's own message otherwise; each
 * followed by ` (req_…)` when the record belongs to a request.
 *
 * @param log a pino record (`msg`, and `reqId`, `req`, `res`, `responseTime` from Fastify).
 * @param inFlight request id → `METHOD URL` for requests that arrived and have not completed; at most
 *   {@link MAX_IN_FLIGHT} entries are kept (the oldest goes first).
 */
export function devLogMessage(log: Record<string, unknown>, inFlight: Map<string, string>): string {
  const msg = typeof log.msg === 'string' ? log.msg : '';
  const reqId = typeof log.reqId === 'string' ? log.reqId : undefined;
  const req = isObject(log.req) ? log.req : undefined;
  const res = isObject(log.res) ? log.res : undefined;
  const target = req ? `${String(req.method)} ${String(req.url)}` : undefined;
  let text = msg;
  if (msg === 'incoming request' && target) {
    if (reqId) {
      if (inFlight.size >= MAX_IN_FLIGHT) inFlight.delete(inFlight.keys().next().value as string);
      inFlight.set(reqId, target);
    }
    text = `→ ${target}`;
  } else if (msg === 'request completed' && res) {
    const arrived = reqId ? inFlight.get(reqId) : undefined;
    if (reqId) inFlight.delete(reqId);
    const took = typeof log.responseTime === 'number' ? ` in ${Math.round(log.responseTime)} ms` : '';
    text = `← ${arrived ? `${arrived} ` : ''}${String(res.statusCode)}${took}`;
  } else if (target) {
    text = `${msg} (${target})`;
  }
  return reqId ? `${text} (${reqId})` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * The pino-pretty options of the development format: one line per record, local wall-clock time, the
 * message from {@link devLogMessage}, {@link HIDDEN_FIELDS} left out.
 */
export function devPrettyOptions(): PrettyOptions {
  const inFlight = new Map<string, string>();
  return {
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: HIDDEN_FIELDS.join(','),
    messageFormat: (log) => devLogMessage(log, inFlight),
  };
}

/**
 * The transport's entry point (pino calls it in its worker thread with the `options` of the transport):
 * a pino-pretty stream with {@link devPrettyOptions}.
 */
export default function devTransport(options: PrettyOptions = {}) {
  return pinoPretty({ ...options, ...devPrettyOptions() });
}
