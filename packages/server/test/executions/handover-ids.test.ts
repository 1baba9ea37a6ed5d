import { afterEach, describe, expect, it, vi } from 'vitest';
import { HANDOVER_SEQ_GAP } from '../../src/modules/executions/event-log.js';
import { EXECUTION_LEASE_MS } from '../../src/modules/executions/service.js';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent } from '../helpers/flows.js';
import { GatedProvider } from '../helpers/providers.js';
import { SseClient } from '../helpers/sse.js';

/**
 * Review of 1dce8ec: a run sends events from memory with ids it assigns before they are stored (batched
 * every 200 ms). When the execution is ended by another instance (a cancel there, or the lease sweep after
 * this instance died), the other instance numbers its terminal events from the *stored* ids, so they reuse
 * ids the client already received. A client that resumes there with its Last-Event-ID never gets
 * `execution.cancelled` / `done`: the stream hangs forever.
 */
describe('event ids when another instance ends an execution (regression)', () => {
  let a: TestApp;
  let b: TestApp | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await b?.close();
    await a.close();
  });

  it('a client resuming on the other instance with its Last-Event-ID gets the end of the execution', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    a = await buildTestApp({ providers: { mock: provider } });
    b = await buildTestApp({ db: a.db, clock: a.clock, providers: { mock: new GatedProvider() } });
    const ada = await userOnPlan(a, 'ada@example.test', 'pro');
    const agent = await createAgent(a, ada, { name: 'Helper' });
    const urlA = await a.app.listen({ host: '127.0.0.1', port: 0 });
    const urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    // Holds the 200 ms batch timer: what a machine under load, or an instance dying inside the window, does.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const live = await SseClient.open(
      `${urlA}/api/v1/agents/${agent.id}/execute`,
      { ...asSession(a, ada), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ input: 'hi', stream: true }) },
    );
    await live.waitForEvents(2);
    vi.useRealTimers();
    expect(live.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
    ]);
    const executionId = (live.events[0]!.json as { id: string }).id;
    // Instance A stops (it died: no batch was written, its lease is not renewed any more); B's sweep
    // fails the execution as instance_lost, and the client reconnects to B with its Last-Event-ID.
    a.clock.advance(EXECUTION_LEASE_MS + 1);
    expect(await b.app.executions.sweepLost()).toEqual([executionId]);
    const resumed = await SseClient.open(`${urlB}/api/v1/executions/${executionId}/events`, {
      cookie: ada.cookie,
      'last-event-id': live.events.at(-1)!.id!,
    });
    const outcome = await Promise.race([
      resumed.ended.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 3 s'), 3000)),
    ]);
    resumed.close();
    live.close();
    provider.release();
    expect(outcome).toBe('ended');
    expect(resumed.events.map((e) => e.event)).toEqual(['execution.failed', 'done']);
  });
  it('a stream on the running instance never sends two events under one id when another instance cancels', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    a = await buildTestApp({ providers: { mock: provider } });
    b = await buildTestApp({ db: a.db, clock: a.clock, providers: { mock: new GatedProvider() } });
    const ada = await userOnPlan(a, 'ada@example.test', 'pro');
    const agent = await createAgent(a, ada, { name: 'Helper' });
    const urlA = await a.app.listen({ host: '127.0.0.1', port: 0 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const live = await SseClient.open(
      `${urlA}/api/v1/agents/${agent.id}/execute`,
      { ...asSession(a, ada), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ input: 'hi', stream: true }) },
    );
    await live.waitForEvents(2);
    vi.useRealTimers();
    const executionId = (live.events[0]!.json as { id: string }).id;
    const cancelled = await b.app.inject({
      method: 'POST',
      url: `/api/v1/executions/${executionId}/cancel`,
      headers: asSession(a, ada),
    });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    provider.release();
    await live.ended;
    const ids = live.events.map((e) => e.id);
    // The cancelling instance numbers past what the running one may have sent unstored (docs/api.md).
    expect(live.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
      ['3', 'output.delta'],
      [String(1 + HANDOVER_SEQ_GAP), 'execution.cancelled'],
      [String(2 + HANDOVER_SEQ_GAP), 'done'],
    ]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
