import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { NotFoundError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const REPLY = {
  conversationId: 'cnv_0123456789abcdefghijklmn',
  message: {
    seq: 2,
    role: 'assistant',
    content: 'Hi.',
    model: 'mock',
    createdAt: '2026-01-01T00:00:00.000Z',
  },
  usage: { inputTokens: 5, outputTokens: 1 },
  finishReason: 'stop',
};

describe('client.chat and client.conversations', () => {
  it('sends a message and returns the typed reply', async () => {
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/chat`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(REPLY);
      }),
    );
    await expect(mswClient().chat.create({ message: 'Hello' })).resolves.toEqual(REPLY);
    expect(body).toEqual({ message: 'Hello' });
  });

  it('streams the reply as typed events', async () => {
    const events = [
      ['conversation', { conversationId: REPLY.conversationId }],
      ['message.delta', { text: 'Hi.' }],
      ['message.completed', REPLY],
      ['done', {}],
    ] as const;
    server.use(
      http.post(
        `${BASE_URL}/api/v1/chat`,
        () =>
          new HttpResponse(
            events
              .map(([event, data], i) => `id: ${i + 1}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
              .join(''),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      ),
    );
    const stream = await mswClient().chat.create({ message: 'Hello', stream: true });
    const seen = [];
    for await (const event of stream) seen.push([event.id, event.event]);
    expect(seen).toEqual([
      ['1', 'conversation'],
      ['2', 'message.delta'],
      ['3', 'message.completed'],
      ['4', 'done'],
    ]);
  });

  const STREAM = [
    ['conversation', { conversationId: REPLY.conversationId }],
    ['message.delta', { text: 'H' }],
    ['message.delta', { text: 'i.' }],
    ['message.completed', REPLY],
    ['done', {}],
  ] as const;
  /** Events of {@link STREAM} with an id above `after` (ids 1, 2, …), framed. */
  const after = (last: number, upTo: number = STREAM.length) =>
    STREAM.slice(last, upTo)
      .map(([event, data], i) => `id: ${last + i + 1}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      .join('');
  const sse = (body: string) => new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });

  it('resumes a dropped streamed reply on GET /api/v1/conversations/:id/stream after its last event id, not by sending the message again', async () => {
    const posts: unknown[] = [];
    const resumes: (string | null)[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/chat`, async ({ request }) => {
        posts.push(await request.json());
        // The connection drops after the first delta, before done.
        return sse(after(0, 2));
      }),
      http.get(`${BASE_URL}/api/v1/conversations/:id/stream`, ({ request, params }) => {
        expect(params.id).toBe(REPLY.conversationId);
        const last = request.headers.get('last-event-id');
        resumes.push(last);
        return sse(after(Number(last)));
      }),
    );
    const stream = await mswClient().chat.create({ message: 'Hello', stream: true });
    const seen = [];
    for await (const event of stream) seen.push([event.id, event.event]);
    expect(seen).toEqual([
      ['1', 'conversation'],
      ['2', 'message.delta'],
      ['3', 'message.delta'],
      ['4', 'message.completed'],
      ['5', 'done'],
    ]);
    expect(posts).toEqual([{ message: 'Hello', stream: true }]);
    expect(resumes).toEqual(['2']);
  });

  it('resumes a reply with conversations.stream() from a given event id; NotFoundError when none is kept', async () => {
    const resumes: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/conversations/:id/stream`, ({ request, params }) => {
        if (params.id !== REPLY.conversationId) return problem(404, 'not_found');
        const last = request.headers.get('last-event-id');
        resumes.push(last);
        return sse(after(Number(last ?? 0)));
      }),
    );
    const client = mswClient({ maxRetries: 0 });
    const stream = await client.conversations.stream(REPLY.conversationId, { lastEventId: '3' });
    const seen = [];
    for await (const event of stream) seen.push([event.id, event.event]);
    expect(seen).toEqual([
      ['4', 'message.completed'],
      ['5', 'done'],
    ]);
    expect(resumes).toEqual(['3']);
    await expect(client.conversations.stream('cnv_other')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists, gets and deletes conversations; another user’s is NotFoundError', async () => {
    const conversation = {
      id: REPLY.conversationId,
      model: 'mock',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    server.use(
      http.get(`${BASE_URL}/api/v1/conversations`, () =>
        HttpResponse.json({ data: [conversation], nextCursor: null }),
      ),
      http.get(`${BASE_URL}/api/v1/conversations/:id`, ({ params }) =>
        params.id === conversation.id
          ? HttpResponse.json({ ...conversation, messages: [REPLY.message] })
          : problem(404, 'not_found'),
      ),
      http.delete(`${BASE_URL}/api/v1/conversations/:id`, () => new HttpResponse(null, { status: 204 })),
    );
    const client = mswClient({ maxRetries: 0 });
    expect((await client.conversations.list()).data).toEqual([conversation]);
    await expect(client.conversations.get(conversation.id)).resolves.toMatchObject({
      messages: [REPLY.message],
    });
    await expect(client.conversations.get('cnv_other')).rejects.toBeInstanceOf(NotFoundError);
    await client.conversations.delete(conversation.id);
  });
});
