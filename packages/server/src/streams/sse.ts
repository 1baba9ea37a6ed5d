import type { EventSchemas, SseEvent } from '@fleece/sdk/contract';
import type { FastifyReply } from 'fastify';

/**
 * Server-Sent Events framing (WHATWG HTML §9.2) and the sink every stream writes to. Events are typed by
 * the contract: {@link sseFrame} takes an event of one of the `…EventSchemas` maps of `@fleece/sdk/contract`,
 * so an event type or payload the contract does not declare does not compile.
 */

/** The heartbeat written on an idle stream: an SSE comment, which clients ignore. */
export const HEARTBEAT = ': ping\n\n';

/**
 * One event as a frame: `id:` (when given), `event:` and one `data:` line of JSON (JSON never contains a
 * raw newline, so one line always suffices), closed by a blank line.
 */
export function sseFrame<M extends EventSchemas>(event: SseEvent<M>, id?: string | number | bigint): string {
  const head = id === undefined ? '' : `id: ${id}\n`;
  return `${head}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** Where a stream writes: a Server-Sent Events response. */
export interface StreamSink {
  /** Writes a chunk; `false` means wait for {@link waitForDrain} before writing more (backpressure). */
  write(chunk: string): boolean;
  /** Resolves when the response can take more, or is gone. */
  waitForDrain(): Promise<void>;
  /** Ends the response. */
  end(): void;
}

/** A {@link StreamSink} on a Fastify reply, and `head()`, which sends the stream's response headers once. */
export interface ReplySink extends StreamSink {
  /** Writes the status line and headers (once): the headers Fastify collected plus the SSE ones. */
  head(): void;
}

/**
 * The Server-Sent Events sink of `reply`: writes go to the raw response, sending the headers first (the
 * headers Fastify collected so far, such as security headers, `X-Request-Id` and CORS, with
 * `content-type: text/event-stream`, `cache-control: no-store` and `x-accel-buffering: no`, which keeps
 * nginx from buffering the stream).
 */
export function replySink(reply: FastifyReply): ReplySink {
  const res = reply.raw;
  const head = () => {
    if (res.headersSent) return;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  };
  return {
    head,
    write: (chunk) => {
      if (res.writableEnded) return true;
      head();
      return res.write(chunk);
    },
    waitForDrain: () =>
      new Promise<void>((resolve) => {
        if (res.writableEnded || res.destroyed) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    end: () => {
      head();
      res.end();
    },
  };
}

/** Writes `chunk` to `sink`, waiting while the response's buffer is full. */
export async function writeFrame(sink: StreamSink, chunk: string): Promise<void> {
  if (!sink.write(chunk)) await sink.waitForDrain();
}
