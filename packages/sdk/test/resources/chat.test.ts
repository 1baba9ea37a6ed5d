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
