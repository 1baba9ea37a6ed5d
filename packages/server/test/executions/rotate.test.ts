import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptionKey, Keyring } from '../../src/lib/crypto.js';
import { rotateExecutionKeys } from '../../src/modules/executions/rotate.js';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('fleece-server keys rotate: AI content re-sealed under the current key', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    for (const app of apps.reverse()) await app.close();
    apps.length = 0;
  });

  it('re-encrypts input, output and stream events in batches; the old key is then no longer needed', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const t = await buildTestApp({ env: { FLEECE_ENCRYPTION_KEY: oldKey.toString('base64') } });
    apps.push(t);
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/agents',
        headers: asSession(t, ada),
        payload: { name: 'A' },
      })
    ).json();
    const before = [];
    for (const input of ['one', 'two']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/agents/${agent.id}/execute`,
        headers: asSession(t, ada),
        payload: { input },
      });
      before.push(res.json());
    }
    const chat = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: asSession(t, ada),
        payload: { message: 'hi' },
      })
    ).json();
    const keyring = new Keyring(encryptionKey(newKey), [encryptionKey(oldKey)]);
    const events = (
      await t.db.ownerQuery<{ n: number }>('select count(*)::int as n from execution_events')
    )[0]!.n;
    // Batches of one: every row still gets its turn.
    expect(await rotateExecutionKeys(t.db.database.db, keyring, 1)).toEqual({
      executions: 2,
      events,
      chatMessages: 2,
    });
    expect(await rotateExecutionKeys(t.db.database.db, keyring, 1)).toEqual({
      executions: 0,
      events: 0,
      chatMessages: 0,
    });
    const ids = await t.db.ownerQuery<{ key_id: string }>(
      'select key_id from executions union select key_id from execution_events union select key_id from chat_messages',
    );
    expect(ids).toEqual([{ key_id: keyring.current.id }]);

    // An instance with only the new key reads everything.
    const fresh = await buildTestApp({ db: t.db, env: { FLEECE_ENCRYPTION_KEY: newKey.toString('base64') } });
    apps.push(fresh);
    for (const execution of before) {
      const res = await fresh.app.inject({
        url: `/api/v1/executions/${execution.id}`,
        headers: { cookie: ada.cookie },
      });
      expect(res.json()).toEqual(execution);
    }
    const conversation = await fresh.app.inject({
      url: `/api/v1/conversations/${chat.conversationId}`,
      headers: { cookie: ada.cookie },
    });
    expect(conversation.json().messages.map((m: { content: string }) => m.content)).toEqual([
      'hi',
      chat.message.content,
    ]);
  });
});
