import { EXECUTION_STREAM_HEARTBEAT_SECONDS } from '@fleece/sdk/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubStream } from './hub.js';
import { HEARTBEAT, replySink, type StreamSink } from './sse.js';

/** Milliseconds between two heartbeat comments on an idle stream: the contract's 15 s, on every stream. */
export const HEARTBEAT_MS = EXECUTION_STREAM_HEARTBEAT_SECONDS * 1000;

/**
 * The `Last-Event-ID` header (WHATWG HTML §9.2.4) of `request` as a stream position: a decimal integer of
 * 1–9 digits (a per-stream sequence number), else `undefined` (absent or not one of ours: from the start).
 */
export function lastEventSeq(request: FastifyRequest): number | undefined {
  const value = request.headers['last-event-id'];
  return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/** Options of {@link serveStream}. */
export interface ServeOptions {
  /** Called when the client goes away before the stream ended by itself. */
  onGone?: () => void;
}

/**
 * Answers `request` with a Server-Sent Events stream (`text/event-stream`) opened by `open` on the reply's
 * sink. The reply is hijacked once the stream is open, so the response headers reach the client only when
 * events can flow; the headers Fastify collected so far (security headers, `X-Request-Id`, CORS) are sent
 * with the stream's own. Then:
 *
 * - every {@link HEARTBEAT_MS} a `: ping` comment keeps proxies from closing an idle connection, and the stream
 *   is pumped (the safety net for a lost notification);
 * - the stream closes when the client disconnects (`onGone` is called if it had not ended by itself) or
 *   the server shuts down (the hub ends it);
 * - the stream is tied to the credential that opened it ({@link LiveStreams.track}): it ends with an
 *   `error` event when that credential stops being valid.
 *
 * @throws what `open` throws (the `LISTEN` failed, the topic is unknown); the reply is then still
 *   Fastify's to answer.
 */
export async function serveStream<Topic, Id>(
  app: Pick<FastifyInstance, 'liveStreams'>,
  request: FastifyRequest,
  reply: FastifyReply,
  open: (sink: StreamSink) => Promise<HubStream<Topic, Id>>,
  options: ServeOptions = {},
): Promise<void> {
  const res = reply.raw;
  const sink = replySink(reply);
  let ended = false;
  let gone = false;
  let stream: HubStream<Topic, Id> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const end = sink.end;
  sink.end = () => {
    ended = true;
    clearInterval(heartbeat);
    end();
  };
  res.on('close', () => {
    gone = true;
    clearInterval(heartbeat);
    stream?.close();
    if (!ended) options.onGone?.();
  });
  const live = await open(sink);
  stream = live;
  reply.hijack();
  sink.head();
  res.flushHeaders();
  if (gone) {
    live.close();
    return;
  }
  if (!ended) {
    heartbeat = setInterval(() => {
      sink.write(HEARTBEAT);
      live.pump();
    }, HEARTBEAT_MS);
    heartbeat.unref();
  }
  app.liveStreams.track(request, reply, sink.end);
}
