import { ConversationDetail } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAT_RESUME_GRACE_MS } from '../../src/modules/chat/turns.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { GatedProvider } from '../helpers/providers.js';
import { SseClient } from '../helpers/sse.js';

describe('chat streams resume with Last-Event-ID (GET /api/v1/conversations/:id/stream)', () => {
  let t: TestApp;
  afterEach(async () => {
    vi.useRealTimers();
    await t.close();
  });

  /** Opens the streaming `POST /api/v1/chat` over real HTTP. */
  const chatStream = async (user: TestUser, message: string) => {
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const live = await SseClient.open(
      `${url}/api/v1/chat`,
      { ...asSession(t, user), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ message, stream: true }) },
    );
    return { url, live };
  };
  const resume = (url: string, user: TestUser, conversationId: string, lastEventId: string) =>
    SseClient.open(`${url}/api/v1/conversations/${conversationId}/stream`, {
      cookie: user.cookie,
      'last-event-id': lastEventId,
    });
  const usage = async (userId: string) =>
    (
      await t.db.ownerQuery<{ count: number }>(
        "select count from usage_counters where user_id = $1 and metric = 'executions'",
        [userId],
      )
    )[0]?.count ?? 0;

  it('goes on after the connection drops mid-reply, and a resume gets the rest: no gap, no duplicate, one reply stored, one quota unit', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const { url, live } = await chatStream(ada, 'Hi');
    await live.waitForEvents(2);
    const { conversationId } = live.events[0]!.json as { conversationId: string };
    live.close();
    // The server saw the drop (the stream is no longer tracked) before the client comes back.
    await vi.waitUntil(() => t.app.liveStreams.size === 0, { timeout: 10_000 });
    const resumed = await resume(url, ada, conversationId, live.events.at(-1)!.id!);
    expect(resumed.status).toBe(200);
    provider.release();
    await resumed.ended;
    expect([...live.events, ...resumed.events].map((e) => [e.id, e.event])).toEqual([
      ['1', 'conversation'],
      ['2', 'message.delta'],
      ['3', 'message.delta'],
      ['4', 'message.completed'],
      ['5', 'done'],
    ]);
    expect(resumed.events[0]!.json).toEqual({ text: 'world.' });
    expect(provider.aborted).toBe(0);
    const got = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(ConversationDetail.parse(got.json()).messages.map((m) => [m.seq, m.role, m.content])).toEqual([
      [1, 'user', 'Hi'],
      [2, 'assistant', 'Hello world.'],
    ]);
    expect(await usage(ada.userId)).toBe(1);
    // A finished reply is kept for late resumes: from the start, the same events under the same ids.
    const again = await resume(url, ada, conversationId, '0');
    await again.ended;
    expect(again.events.map((e) => [e.id, e.event, e.json])).toEqual(
      [...live.events, ...resumed.events].map((e) => [e.id, e.event, e.json]),
    );
  });

  it(`cancels a reply no stream resumed within ${CHAT_RESUME_GRACE_MS / 1000} s of the drop; nothing is stored for it`, async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const { url, live } = await chatStream(ada, 'Hi');
    await live.waitForEvents(2);
    const { conversationId } = live.events[0]!.json as { conversationId: string };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    live.close();
    // Not vi.waitUntil: with fake timers it advances the clock itself.
    while (t.app.liveStreams.size > 0) await new Promise((resolve) => setImmediate(resolve));
    vi.advanceTimersByTime(CHAT_RESUME_GRACE_MS - 1);
    expect(provider.aborted).toBe(0);
    vi.advanceTimersByTime(1);
    expect(provider.aborted).toBe(1);
    vi.useRealTimers();
    const resumed = await resume(url, ada, conversationId, '2');
    await resumed.ended;
    expect(resumed.events.map((e) => [e.id, e.event, e.json])).toEqual([
      ['3', 'error', { code: 'provider_cancelled' }],
      ['4', 'done', {}],
    ]);
    const got = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(ConversationDetail.parse(got.json()).messages.map((m) => m.role)).toEqual(['user']);
  });

  it('answers 404 for a conversation with no streamed reply kept here, and for another user’s like a missing one', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const streamed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: asSession(t, ada),
      payload: { message: 'Hi', stream: true },
    });
    const conversationId = /"conversationId":"(cnv_[0-9a-z]+)"/.exec(streamed.body)![1]!;
    const plain = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: asSession(t, ada),
      payload: { message: 'Hi' },
    });
    const get = (user: TestUser, id: string) =>
      t.app.inject({ url: `/api/v1/conversations/${id}/stream`, headers: { cookie: user.cookie } });
    const own = await get(ada, conversationId);
    expect(own.statusCode).toBe(200);
    expect(own.body.endsWith('event: done\ndata: {}\n\n')).toBe(true);
    for (const [user, id] of [
      [bob, conversationId],
      [ada, plain.json().conversationId],
      [ada, 'cnv_none'],
    ] as const) {
      const res = await get(user, id);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    }
  });
});
