import { Execution } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_RUN_JOB } from '../../src/modules/flows/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent, createFlow } from '../helpers/flows.js';
import { auditEvents } from '../helpers/identity.js';
import { runJobs } from '../helpers/jobs.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function trigger(
  app: TestApp,
  user: TestUser,
  flowId: string,
  input: string,
  key: string | undefined,
): Promise<LightMyRequestResponse> {
  return app.app.inject({
    method: 'POST',
    url: `/api/v1/flows/${flowId}/trigger`,
    headers: { ...asSession(app, user), ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: { input },
  });
}

/** The runs (executions without a parent) of flow `flowId`, as stored. */
async function storedRuns(app: TestApp, flowId: string): Promise<{ id: string; idempotency_key: string }[]> {
  return app.db.ownerQuery(
    'select id, idempotency_key from executions where flow_id = $1 and parent_id is null order by created_at',
    [flowId],
  );
}

/** Signs ada in (Pro) on a new app and gives her an agent and a one-step flow. */
async function setUp(): Promise<{ app: TestApp; ada: TestUser; agentId: string; flowId: string }> {
  const app = await buildTestApp();
  t = app;
  const ada = await userOnPlan(app, 'ada@example.test', 'pro');
  const agent = await createAgent(app, ada);
  const flow = await createFlow(app, ada, {
    name: 'Once',
    steps: [{ name: 'only', agentId: agent.id, input: '{{input}}' }],
  });
  return { app, ada, agentId: agent.id, flowId: flow.id };
}

describe('flows: Idempotency-Key on trigger', () => {
  it('queues one run for concurrent duplicates and answers a replay with the run as it is now (200)', async () => {
    const { app, ada, flowId } = await setUp();
    const answers = await Promise.all([
      trigger(app, ada, flowId, 'hello', 'trigger-1'),
      trigger(app, ada, flowId, 'hello', 'trigger-1'),
      trigger(app, ada, flowId, 'hello', 'trigger-1'),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 202]);
    const first = Execution.parse(answers.find((a) => a.statusCode === 202)!.json());
    for (const answer of answers) {
      expect(Execution.parse(answer.json())).toEqual(first);
      expect(answer.headers.location).toBe(`/api/v1/executions/${first.id}`);
    }
    expect(first).toMatchObject({ status: 'queued', flowId, parentId: null, input: 'hello' });
    expect(await storedRuns(app, flowId)).toEqual([{ id: first.id, idempotency_key: 'trigger-1' }]);
    const triggered = (await auditEvents(app)).filter((e) => e.action === 'flow.triggered');
    expect(triggered).toHaveLength(1);

    // One job, one run of one step; a replay afterwards answers the finished run, not a new one.
    expect((await runJobs(app.app, FLOW_RUN_JOB)).map((j) => j.outcome)).toEqual(['completed']);
    const replay = await trigger(app, ada, flowId, 'hello', 'trigger-1');
    expect(replay.statusCode, replay.body).toBe(200);
    expect(Execution.parse(replay.json())).toMatchObject({ id: first.id, status: 'succeeded' });
    expect(await storedRuns(app, flowId)).toHaveLength(1);
    const [usage] = await app.db.ownerQuery<{ count: number }>(
      "select count from usage_counters where user_id = $1 and metric = 'executions'",
      [ada.userId],
    );
    expect(usage!.count).toBe(1);
  });

  it('refuses a key already used for another input, another flow or an agent execution (400), and a malformed key', async () => {
    const { app, ada, agentId, flowId } = await setUp();
    expect((await trigger(app, ada, flowId, 'hello', 'k-1')).statusCode).toBe(202);
    const reused = {
      type: 'https://fleece.dev/problems/validation_failed',
      code: 'validation_failed',
      errors: [{ path: 'headers.idempotency-key', message: 'already used for a different request' }],
    };
    const otherInput = await trigger(app, ada, flowId, 'goodbye', 'k-1');
    expect(otherInput.statusCode).toBe(400);
    expect(otherInput.json()).toMatchObject(reused);

    const executed = await app.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agentId}/execute`,
      headers: { ...asSession(app, ada), 'idempotency-key': 'k-exec' },
      payload: { input: 'hello' },
    });
    expect(executed.statusCode, executed.body).toBe(201);
    const onExecution = await trigger(app, ada, flowId, 'hello', 'k-exec');
    expect(onExecution.statusCode).toBe(400);
    expect(onExecution.json()).toMatchObject(reused);

    const malformed = await trigger(app, ada, flowId, 'hello', 'with space');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors).toEqual([
      { path: 'headers.idempotency-key', message: '1–255 printable ASCII characters' },
    ]);
    expect(await storedRuns(app, flowId)).toEqual([{ id: expect.any(String), idempotency_key: 'k-1' }]);
  });

  it('scopes keys per user and per flow: another flow of the same user refuses the key, another user may use it', async () => {
    const { app, ada, agentId, flowId } = await setUp();
    const other = await createFlow(app, ada, {
      name: 'Other',
      steps: [{ name: 'only', agentId, input: '{{input}}' }],
    });
    const run = Execution.parse((await trigger(app, ada, flowId, 'hello', 'shared')).json());
    const elsewhere = await trigger(app, ada, other.id, 'hello', 'shared');
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().errors).toEqual([
      { path: 'headers.idempotency-key', message: 'already used for a different request' },
    ]);
    expect(await storedRuns(app, other.id)).toEqual([]);

    const bob = await userOnPlan(app, 'bob@example.test', 'pro');
    const bobAgent = await createAgent(app, bob);
    const bobFlow = await createFlow(app, bob, {
      name: 'Once',
      steps: [{ name: 'only', agentId: bobAgent.id, input: '{{input}}' }],
    });
    const bobs = await trigger(app, bob, bobFlow.id, 'hello', 'shared');
    expect(bobs.statusCode, bobs.body).toBe(202);
    expect(bobs.json().id).not.toBe(run.id);
    // Without a key, a second trigger while the first run is queued is refused as before.
    expect((await trigger(app, ada, flowId, 'hello', undefined)).statusCode).toBe(409);
  });
});
