import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_AUDIT_CONTEXT } from '../../src/modules/audit/context.js';
import { HANDOVER_SEQ_GAP } from '../../src/modules/executions/event-log.js';
import { SWEEP_JOB } from '../../src/modules/executions/plugin.js';
import { EXECUTION_LEASE_MS } from '../../src/modules/executions/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent as postAgent } from '../helpers/flows.js';
import { GatedProvider } from '../helpers/providers.js';
import { SseClient } from '../helpers/sse.js';

describe('executions of a lost instance (claim C32)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const createAgent = (user: TestUser) => postAgent(t, user, { name: 'Helper' });
  const usage = async (userId: string) =>
    (
      await t.db.ownerQuery<{ count: number }>(
        "select count from usage_counters where user_id = $1 and metric = 'executions'",
        [userId],
      )
    )[0]?.count ?? 0;
  const lease = async (id: string) =>
    (
      await t.db.ownerQuery<{ lease_expires_at: Date | null }>(
        'select lease_expires_at from executions where id = $1',
        [id],
      )
    )[0]!.lease_expires_at;

  it('fails a running execution whose lease expired as instance_lost, ends its followers, charges nothing more', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    // What an instance killed mid-run leaves behind: the execution running, begun there, its lease unrenewed.
    const { execution } = await t.app.executions.start(
      SYSTEM_AUDIT_CONTEXT,
      ada.userId,
      agent.id,
      'hello',
      undefined,
    );
    expect(await t.app.executions.begin(ada.userId, execution.id)).toBe(true);
    await t.db.ownerQuery('update executions set lease_expires_at = $2 where id = $1', [
      execution.id,
      new Date(t.clock.now().getTime() + EXECUTION_LEASE_MS),
    ]);
    expect(await usage(ada.userId)).toBe(1);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const follower = await SseClient.open(`${url}/api/v1/executions/${execution.id}/events`, {
      cookie: ada.cookie,
    });
    await follower.waitForEvents(1);

    t.clock.advance(EXECUTION_LEASE_MS - 1);
    expect(await t.app.executions.sweepLost()).toEqual([]);
    t.clock.advance(2);
    expect(await t.app.executions.sweepLost()).toEqual([execution.id]);

    await follower.ended;
    // The sweeping instance cannot know what the lost one sent unstored: its events go past that bound.
    expect(follower.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      [String(2 + HANDOVER_SEQ_GAP), 'execution.failed'],
      [String(3 + HANDOVER_SEQ_GAP), 'done'],
    ]);
    const res = await t.app.inject({
      url: `/api/v1/executions/${execution.id}`,
      headers: { cookie: ada.cookie },
    });
    expect(res.json()).toMatchObject({
      status: 'failed',
      output: null,
      error: {
        code: 'instance_lost',
        message: 'The server instance running this execution stopped before it finished; run it again.',
      },
      durationMs: EXECUTION_LEASE_MS + 1,
    });
    expect(follower.events[1]!.json).toEqual(res.json());
    // No second quota unit, and a second sweep changes nothing.
    expect(await usage(ada.userId)).toBe(1);
    expect(await t.app.executions.sweepLost()).toEqual([]);
  });

  it('fails a queued agent execution that never began within the lease, not one that is younger', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const start = (input: string) =>
      t.app.executions.start(SYSTEM_AUDIT_CONTEXT, ada.userId, agent.id, input, undefined);
    const old = (await start('old')).execution;
    t.clock.advance(EXECUTION_LEASE_MS);
    const young = (await start('young')).execution;
    expect(await t.app.executions.sweepLost()).toEqual([]);
    t.clock.advance(1);
    expect(await t.app.executions.sweepLost()).toEqual([old.id]);
    expect((await t.app.executions.get(ada.userId, old.id))?.error?.code).toBe('instance_lost');
    expect((await t.app.executions.get(ada.userId, young.id))?.status).toBe('queued');
    expect(await usage(ada.userId)).toBe(2);
  });

  it('renews the leases of the executions this instance runs and never sweeps them', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const pending = t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agent.id}/execute`,
      headers: asSession(t, ada),
      payload: { input: 'long' },
    });
    await provider.started;
    const id = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    const begun = t.clock.now().getTime();
    expect((await lease(id))?.getTime()).toBe(begun + EXECUTION_LEASE_MS);

    t.clock.advance(EXECUTION_LEASE_MS / 3);
    expect(await t.app.executions.renewLeases()).toBe(1);
    expect((await lease(id))?.getTime()).toBe(begun + EXECUTION_LEASE_MS / 3 + EXECUTION_LEASE_MS);
    // Even past its lease, an execution this instance still runs is not swept here.
    t.clock.advance(2 * EXECUTION_LEASE_MS);
    expect(await t.app.executions.sweepLost()).toEqual([]);

    provider.release();
    const res = await pending;
    expect(res.json()).toMatchObject({ id, status: 'succeeded', output: 'Hello world.' });
    expect(await t.app.executions.renewLeases()).toBe(0);
  });

  it('sweeps every minute through the job queue', async () => {
    t = await buildTestApp();
    expect(t.app.jobs.names()).toContain(SWEEP_JOB);
  });
});
