import { afterEach, describe, expect, it } from 'vitest';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { SseClient } from '../helpers/sse.js';

/**
 * Review of 1dce8ec: `GET /api/v1/conversations/:id/stream` with a `Last-Event-ID` past the turn's last
 * event (any 1–9 digit number is accepted) reads `turn.events.slice(after)`, which is empty, so `done` is
 * never sent: the response stays open for as long as the client likes (heartbeats every 15 s), on a turn
 * that finished long ago, and while the turn runs it keeps the reply from being cancelled.
 */
describe('regression: chat resume with a Last-Event-ID past the end', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('ends the stream of a finished reply instead of holding it open forever', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const streamed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: asSession(t, ada),
      payload: { message: 'Hi', stream: true },
    });
    expect(streamed.body.endsWith('event: done\ndata: {}\n\n')).toBe(true);
    const conversationId = /"conversationId":"(cnv_[0-9a-z]+)"/.exec(streamed.body)![1]!;
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const resumed = await SseClient.open(`${url}/api/v1/conversations/${conversationId}/stream`, {
      cookie: ada.cookie,
      'last-event-id': '999999999',
    });
    expect(resumed.status).toBe(200);
    const outcome = await Promise.race([
      resumed.ended.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 3 s'), 3000)),
    ]);
    resumed.close();
    expect(outcome).toBe('ended');
  });
});
