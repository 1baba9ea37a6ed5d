import type http from 'node:http';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import {
  driveClock,
  observeSleeps,
  startServer,
  type TestServer,
  until,
  useFakeClock,
} from '../../../testkit/src/index.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  decodeEvents,
  Fleece,
  FleeceError,
  NotFoundError,
  ResponseValidationError,
  Stream,
} from '../../src/index.js';
import { watch } from '../helpers.js';

const decode = decodeEvents({
  message: z.object({ text: z.string() }),
  done: z.object({ total: z.number() }),
});
type Event = ReturnType<typeof decode>;

/** A real SSE server; `script` writes each connection (numbered from 1) and sees its request. */
async function sseServer(
  script: (res: http.ServerResponse, connection: number, req: http.IncomingMessage) => void,
): Promise<TestServer & { requests: http.IncomingMessage[]; closed: number[] }> {
  const requests: http.IncomingMessage[] = [];
  const closed: number[] = [];
  const server = await startServer((req, res) => {
    requests.push(req);
    const connection = requests.length;
    res.on('close', () => closed.push(connection));
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'x-request-id': `req_connection${connection}`,
    });
    res.flushHeaders();
    script(res, connection, req);
  });
  return Object.assign(server, { requests, closed });
}

const servers: TestServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function clientFor(server: TestServer, options: ConstructorParameters<typeof Fleece>[0] = {}) {
  servers.push(server);
  return new Fleece({ baseURL: server.url, apiKey: 'flc_stream', ...options });
}

function open(client: Fleece, options: { signal?: AbortSignal; terminalEvent?: string | null } = {}) {
  return client.stream({
    method: 'post',
    path: '/api/v1/agents/agt_1/execute',
    body: { input: 'hi' },
    decode,
    ...options,
  });
}

async function collect<E>(stream: Stream<E>): Promise<E[]> {
  const events: E[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('Stream', () => {
  it('yields typed events and delivers the final event even without a trailing newline', async () => {
    const server = await sseServer((res) => {
      res.write(': connected\n\nid: 1\nevent: message\ndata: {"text":"hel');
      res.write('lo"}\n\nid: 2\ndata: {"text":"untyped message"}\n\nid: 3\nevent: unknown\ndata: {}\n\n');
      res.end('id: 4\nevent: done\ndata: {"total":2}');
    });
    const stream = await open(clientFor(server));
    expect(stream).toBeInstanceOf(Stream);
    expect(stream.requestId).toBe('req_connection1');
    const events = await collect(stream);
    expect(events).toEqual([
      { event: 'message', id: '1', data: { text: 'hello' } },
      { event: 'message', id: '2', data: { text: 'untyped message' } },
      { event: 'done', id: '4', data: { total: 2 } },
    ]);
    expect(stream.lastEventId).toBe('4');
    expect(server.requests[0]?.headers.accept).toBe('text/event-stream');
    expect(server.requests).toHaveLength(1);
    expectTypeOf<Event>().toEqualTypeOf<
      | { event: 'message'; id: string | undefined; data: { text: string } }
      | { event: 'done'; id: string | undefined; data: { total: number } }
      | undefined
    >();
  });

  it('aborts the request when the loop breaks', async () => {
    const server = await sseServer((res) => {
      res.write('id: 1\nevent: message\ndata: {"text":"a"}\n\n');
      // …and keeps the connection open.
    });
    const stream = await open(clientFor(server));
    for await (const event of stream) {
      expect(event).toEqual({ event: 'message', id: '1', data: { text: 'a' } });
      break;
    }
    await until(() => server.closed.length === 1);
    expect(server.closed).toEqual([1]);
    expect(stream.controller.signal.aborted).toBe(true);
  });

  it('reconnects after a drop with Last-Event-ID and the same Idempotency-Key, without gaps or duplicates', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = await sseServer((res, connection) => {
      if (connection === 1) {
        res.write(
          'id: 1\nevent: message\ndata: {"text":"a"}\n\nid: 2\nevent: message\ndata: {"text":"b"}\n\n',
        );
        res.write('id: 3\nevent: message\ndata: {"te'); // cut off mid-event…
        setImmediate(() => res.socket?.destroy()); // …by a dropped connection
        return;
      }
      // The server resumes after Last-Event-ID, replaying the last event it is unsure was received.
      res.end(
        'id: 2\nevent: message\ndata: {"text":"b"}\n\nid: 3\nevent: message\ndata: {"text":"c"}\n\n' +
          'id: 4\nevent: done\ndata: {"total":3}\n\n',
      );
    });
    const stream = await open(clientFor(server));
    const events = await driveClock(collect(stream), sleeps);
    expect(events.map((e) => e?.id)).toEqual(['1', '2', '3', '4']);
    expect(events[2]).toEqual({ event: 'message', id: '3', data: { text: 'c' } });
    expect(sleeps.delays).toEqual([500]);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first?.headers['last-event-id']).toBeUndefined();
    expect(second?.headers['last-event-id']).toBe('2');
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
    expect(second?.method).toBe('POST');
  });

  it('resumes with the request that resume() names', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    const server = await sseServer((res, connection) => {
      if (connection === 1) res.end('retry: 100\nid: 1\nevent: message\ndata: {"text":"a"}\n\n');
      else res.end('id: 2\nevent: done\ndata: {"total":1}\n\n');
    });
    const client = clientFor(server);
    const stream = await client.stream({
      method: 'post',
      path: '/api/v1/agents/agt_1/execute',
      body: { input: 'hi' },
      decode,
      resume: () => ({ method: 'get', path: '/api/v1/executions/exe_1/events' }),
    });
    const events = await driveClock(collect(stream), sleeps);
    expect(events.map((e) => e?.id)).toEqual(['1', '2']);
    expect(server.requests.map((r) => `${r.method} ${r.url} ${r.headers['last-event-id']}`)).toEqual([
      'POST /api/v1/agents/agt_1/execute undefined',
      'GET /api/v1/executions/exe_1/events 1',
    ]);
  });

  it('treats a body that ends before the done event as a drop, and waits as long as retry: says', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    const server = await sseServer((res, connection) => {
      if (connection === 1) res.end('retry: 2500\nid: 1\nevent: message\ndata: {"text":"a"}\n\n');
      else res.end('id: 2\nevent: done\ndata: {"total":1}\n\n');
    });
    const events = await driveClock(open(clientFor(server)).then(collect), sleeps);
    expect(events.map((e) => e?.id)).toEqual(['1', '2']);
    expect(sleeps.delays).toEqual([2500]);
    expect(server.requests[1]?.headers['last-event-id']).toBe('1');
  });

  it('regression: aborting while the stream waits to reconnect (retry: 20000) ends it at once', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    const server = await sseServer((res) => {
      res.end('retry: 20000\nid: 1\nevent: message\ndata: {"text":"a"}\n\n');
    });
    const controller = new AbortController();
    const stream = await open(clientFor(server), { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ event: 'message', id: '1', data: { text: 'a' } });
    const next = watch(iterator.next());
    await until(() => sleeps.pending === 1);
    expect(sleeps.delays).toEqual([20_000]);
    const before = Date.now();
    controller.abort();
    await next.settled;
    expect(next.outcome).toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - before).toBe(0); // no fake time passed: the wait ended with the abort
    expect(server.requests).toHaveLength(1);
  });

  it('drops a cut-off last event whose data is not JSON and resumes before it', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = await sseServer((res, connection) => {
      if (connection === 1)
        res.end('id: 1\nevent: message\ndata: {"text":"a"}\n\nid: 2\nevent: message\ndata: {"te');
      else res.end('id: 2\nevent: message\ndata: {"text":"b"}\n\nid: 3\nevent: done\ndata: {"total":2}\n\n');
    });
    const events = await driveClock(open(clientFor(server)).then(collect), sleeps);
    expect(events.map((e) => e?.id)).toEqual(['1', '2', '3']);
    expect(server.requests[1]?.headers['last-event-id']).toBe('1');
  });

  it('ends the stream when the body ends if there is no terminal event', async () => {
    const server = await sseServer((res) => res.end('id: 1\nevent: message\ndata: {"text":"a"}\n\n'));
    const events = await collect(await open(clientFor(server), { terminalEvent: null }));
    expect(events).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up with APIConnectionError after maxRetries reconnections without progress', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = await sseServer((res, connection) => {
      if (connection === 1) res.write('id: 7\nevent: message\ndata: {"text":"a"}\n\n');
      setImmediate(() => res.socket?.destroy());
    });
    const stream = await open(clientFor(server, { maxRetries: 2 }));
    const events: unknown[] = [];
    const error = await driveClock(
      (async () => {
        for await (const event of stream) events.push(event);
      })(),
      sleeps,
    ).catch((e: unknown) => e);
    expect(events).toHaveLength(1);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as Error).message).toBe(
      'The stream ended before its "done" event and 2 reconnection attempt(s) without progress failed; ' +
        'last event id 7 (request id req_connection3)',
    );
    expect(sleeps.delays).toEqual([500, 1000]);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '7', '7']);
  });

  it('ends a stalled stream with APIConnectionTimeoutError after idleTimeout without bytes', async () => {
    useFakeClock();
    const server = await sseServer((res) => {
      res.write('id: 1\nevent: message\ndata: {"text":"a"}\n\n');
    });
    const stream = await open(clientFor(server));
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ event: 'message', id: '1', data: { text: 'a' } });
    const next = watch(iterator.next());
    await vi.advanceTimersByTimeAsync(59_999);
    expect(next.outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await next.settled;
    expect(next.outcome).toBeInstanceOf(APIConnectionTimeoutError);
    expect((next.outcome as Error).message).toBe(
      'The stream stalled: no data for 60000 ms (request id req_connection1)',
    );
    await until(() => server.closed.length === 1);
  });

  it('counts heartbeat comments as activity', async () => {
    useFakeClock();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const idleTimersArmed = () => setTimeoutSpy.mock.calls.filter(([, ms]) => ms === 10_000).length;
    let response: http.ServerResponse | undefined;
    const server = await sseServer((res) => {
      response = res;
    });
    const stream = await open(clientFor(server, { idleTimeout: 10_000 }));
    let outcome: unknown;
    const done = collect(stream).then(
      (events) => {
        outcome = events;
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    await until(() => idleTimersArmed() === 1);
    await vi.advanceTimersByTimeAsync(9_999);
    response?.write(': heartbeat\n\n');
    await until(() => idleTimersArmed() === 2); // the heartbeat re-armed the idle timer
    await vi.advanceTimersByTimeAsync(9_999);
    expect(outcome).toBeUndefined(); // 19 998 ms in, but never 10 s of silence
    response?.end('id: 1\nevent: done\ndata: {"total":0}\n\n');
    await done;
    expect(outcome).toEqual([{ event: 'done', id: '1', data: { total: 0 } }]);
  });

  it('names the field path of an event that does not match its schema', async () => {
    const server = await sseServer((res) => res.end('id: 9\nevent: done\ndata: {"total":"many"}\n\n'));
    const error = await collect(await open(clientFor(server))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('total');
    expect((error as Error).message).toBe(
      'Event "done" (id 9) did not match the expected shape at total: Invalid input: expected number, ' +
        'received string (request id req_connection1)',
    );
  });

  it('rejects with APIUserAbortError when the caller aborts', async () => {
    const server = await sseServer((res) => res.write('id: 1\nevent: message\ndata: {"text":"a"}\n\n'));
    const controller = new AbortController();
    const stream = await open(clientFor(server), { signal: controller.signal });
    const error = await (async () => {
      for await (const _ of stream) controller.abort();
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
  });

  it('throws the APIError when the stream cannot be opened', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json', 'x-request-id': 'req_nf' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found' }));
    });
    await expect(open(clientFor(server))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a response that is not an event stream', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_json' });
      res.end('{}');
    });
    await expect(open(clientFor(server))).rejects.toThrow(
      'Expected an event stream from POST /api/v1/agents/agt_1/execute, got application/json (request id req_json)',
    );
  });

  it('can be iterated only once', async () => {
    const server = await sseServer((res) => res.end('id: 1\nevent: done\ndata: {"total":0}\n\n'));
    const stream = await open(clientFor(server));
    await stream.finalEvent();
    expect(() => stream[Symbol.asyncIterator]()).toThrow(FleeceError);
  });

  it('resolves finalEvent() with the done event', async () => {
    const server = await sseServer((res) =>
      res.end('id: 1\nevent: message\ndata: {"text":"a"}\n\nid: 2\nevent: done\ndata: {"total":1}\n\n'),
    );
    const stream = await open(clientFor(server));
    await expect(stream.finalEvent()).resolves.toEqual({ event: 'done', id: '2', data: { total: 1 } });
  });
});
