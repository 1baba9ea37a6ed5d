import { afterEach, describe, expect, it } from 'vitest';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent } from '../helpers/flows.js';

/**
 * Review of 1dce8ec: `ExecutionService.complete` takes the run's unstored events out of `live.pending`
 * before its transaction. When that transaction fails (a connection reset, a deadlock), the run loop ends
 * the execution again as `failed` through `complete`, but the events taken out are gone: the second
 * transaction stores only the final event and `done`, numbered after the lost ones. The stored log (what
 * every replay and every other instance serves) then starts at the final event: `execution.started` and
 * every delta the client was sent are missing, a gap the docs say cannot happen.
 */
describe('regression: a failed final transaction of an execution keeps its unstored events', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('stores every event the run produced, without a gap, when the final transaction is retried', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada, { name: 'Helper' });
    const log = t.app.executions.eventLog;
    const store = log.store.bind(log);
    let failed = false;
    log.store = async (tx, row, events) => {
      if (!failed && events.some((e) => e.type === 'execution.completed')) {
        failed = true;
        throw new Error('connection reset (injected once)');
      }
      return store(tx, row, events);
    };
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agent.id}/execute`,
      headers: asSession(t, ada),
      payload: { input: 'hello' },
    });
    expect(failed).toBe(true);
    const id = res.json().id as string;
    const rows = await t.db.ownerQuery<{ seq: number; type: string }>(
      'select seq, type from execution_events where execution_id = $1 order by seq',
      [id],
    );
    // Contiguous ids from 1, starting with execution.started, ending with done.
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows[0]?.type).toBe('execution.started');
    expect(rows.at(-1)?.type).toBe('done');
  });
});
