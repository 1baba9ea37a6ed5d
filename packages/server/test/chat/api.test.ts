import { ChatResponse, ConversationDetail } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/modules/ai/providers/errors.js';
import { mockCompletion } from '../../src/modules/ai/providers/mock.js';
import type { ModelProvider, ProviderStream } from '../../src/modules/ai/providers/types.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

function parseSse(body: string) {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 2);
      }
      return { id: fields.id, event: fields.event, json: fields.data ? JSON.parse(fields.data) : undefined };
    });
}

describe('chat and conversations', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const chat = (user: TestUser, body: Record<string, unknown>): Promise<LightMyRequestResponse> =>
    t.app.inject({ method: 'POST', url: '/api/v1/chat', headers: asSession(t, user), payload: body });
  const mockText = (messages: { role: 'user' | 'assistant' | 'system'; content: string }[]) =>
    mockCompletion(messages, { model: 'mock' }).chunks.join('');

  it('starts and continues a conversation on the mock provider, stored encrypted, counted against the quota', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const first = await chat(ada, { message: 'Hello' });
    expect(first.statusCode, first.body).toBe(200);
    const one = ChatResponse.parse(first.json());
    expect(one.conversationId).toMatch(/^cnv_[0-9a-z]{24}$/);
    const reply1 = mockText([{ role: 'user', content: 'Hello' }]);
    expect(one.message).toEqual({
      seq: 2,
      role: 'assistant',
      content: reply1,
      model: 'mock',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const second = ChatResponse.parse(
      (await chat(ada, { conversationId: one.conversationId, message: 'More' })).json(),
    );
    const reply2 = mockText([
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: reply1 },
      { role: 'user', content: 'More' },
    ]);
    expect(second.message.content).toBe(reply2);
    const got = await t.app.inject({
      url: `/api/v1/conversations/${one.conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(ConversationDetail.parse(got.json()).messages.map((m) => [m.seq, m.role, m.content])).toEqual([
      [1, 'user', 'Hello'],
      [2, 'assistant', reply1],
      [3, 'user', 'More'],
      [4, 'assistant', reply2],
    ]);
    const list = await t.app.inject({ url: '/api/v1/conversations', headers: { cookie: ada.cookie } });
    expect(list.json().data.map((c: { id: string }) => c.id)).toEqual([one.conversationId]);
    const rows = await t.db.ownerQuery<{ content: Uint8Array }>('select content from chat_messages');
    for (const row of rows) {
      expect(Buffer.from(row.content).includes('Hello')).toBe(false);
      expect(Buffer.from(row.content).includes('Mock')).toBe(false);
    }
    const [counter] = await t.db.ownerQuery<{ count: number }>(
      "select count from usage_counters where user_id = $1 and metric = 'executions'",
      [ada.userId],
    );
    expect(counter!.count).toBe(2);
  });

  it('streams the reply with an id on every event and a final done', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const res = await chat(ada, { messages: [{ role: 'user', content: 'Hi' }], stream: true });
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const chunks = mockCompletion([{ role: 'user', content: 'Hi' }], { model: 'mock' }).chunks;
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual([
      'conversation',
      ...chunks.map(() => 'message.delta'),
      'message.completed',
      'done',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)));
    expect(events.at(-2)!.json.message.content).toBe(chunks.join(''));
  });

  it('deletes a conversation (audited); another user’s answers 404 like a missing one', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const { conversationId } = (await chat(ada, { message: 'Hello' })).json();
    const missing = 'cnv_000000000000000000000000';
    for (const [method, url] of [
      ['GET', `/api/v1/conversations/${conversationId}`],
      ['DELETE', `/api/v1/conversations/${conversationId}`],
    ] as const) {
      const theirs = await t.app.inject({ method, url, headers: asSession(t, bob) });
      const none = await t.app.inject({
        method,
        url: url.replace(conversationId, missing),
        headers: asSession(t, bob),
      });
      expect(theirs.statusCode).toBe(404);
      const { requestId: _a, ...a } = theirs.json();
      const { requestId: _b, ...b } = none.json();
      expect(a).toEqual(b);
    }
    const continued = await chat(bob, { conversationId, message: 'mine now?' });
    expect(continued.statusCode).toBe(404);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/conversations/${conversationId}`,
      headers: asSession(t, ada),
    });
    expect(del.statusCode).toBe(204);
    const gone = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(gone.statusCode).toBe(404);
    expect((await auditEvents(t)).filter((e) => e.action === 'chat.conversation.deleted')).toHaveLength(1);
    expect(await t.db.ownerQuery('select * from chat_messages')).toEqual([]);
  });

  it('reports a failed reply: 503 with the safe code as JSON, an error event then done when streaming', async () => {
    await t.close();
    const failing: ModelProvider = {
      id: 'mock',
      stream(): ProviderStream {
        const error = new ProviderError('provider_unavailable', 'mock');
        const result = Promise.reject(error);
        result.catch(() => {});
        return {
          // biome-ignore lint/correctness/useYield: fails before its first delta, as a provider that is down
          async *[Symbol.asyncIterator]() {
            throw error;
          },
          result: () => result,
        };
      },
    };
    t = await buildTestApp({ providers: { mock: failing } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const plain = await chat(ada, { message: 'Hello' });
    expect(plain.statusCode).toBe(503);
    expect(plain.json()).toMatchObject({ code: 'service_unavailable' });
    expect(plain.json().detail).toContain('[provider_unavailable]');
    const streamed = parseSse((await chat(ada, { message: 'Hello', stream: true })).body);
    expect(streamed.map((e) => [e.id, e.event, e.json])).toEqual([
      ['1', 'conversation', { conversationId: expect.stringMatching(/^cnv_/) }],
      ['2', 'error', { code: 'provider_unavailable' }],
      ['3', 'done', {}],
    ]);
  });

  it('limits chat to 20 a minute per user and validates the body', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const both = await chat(ada, { message: 'a', messages: [{ role: 'user', content: 'b' }] });
    expect(both.statusCode).toBe(400);
    for (let i = 1; i < 20; i++) expect((await chat(ada, { message: `n${i}` })).statusCode).toBe(200);
    const limited = await chat(ada, { message: 'one too many' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
  });
});
