import { afterEach, describe, expect, it } from 'vitest';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * Review of 1dce8ec: a streamed reply's events are kept in memory (ChatTurns) for 60 s after `done`, and
 * `DELETE /api/v1/conversations/:id` does not drop them: the resume route keeps serving the deleted
 * conversation's reply (the assistant's text) after the API answered that the messages are gone.
 */
describe('regression: a deleted conversation is not resumable', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('answers 404 on the resume route once the conversation is deleted', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const streamed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: asSession(t, ada),
      payload: { message: 'my secret', stream: true },
    });
    const conversationId = /"conversationId":"(cnv_[0-9a-z]+)"/.exec(streamed.body)![1]!;
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/conversations/${conversationId}`,
      headers: asSession(t, ada),
    });
    expect(deleted.statusCode).toBe(204);
    const gone = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(gone.statusCode).toBe(404);
    const resumed = await t.app.inject({
      url: `/api/v1/conversations/${conversationId}/stream`,
      headers: { cookie: ada.cookie },
    });
    expect(resumed.statusCode).toBe(404);
    expect(resumed.body).not.toContain('message.completed');
  });
});
