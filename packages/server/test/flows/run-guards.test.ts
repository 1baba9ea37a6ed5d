import { Agent, CreatedFlow, Execution, ExecutionPage } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MockProvider } from '../../src/modules/ai/providers/mock.js';
import type {
  ChatMessage,
  ModelProvider,
  ProviderStream,
  StreamOptions,
} from '../../src/modules/ai/providers/types.js';
import { FLOW_RUN_JOB, FLOW_SCHEDULE_JOB } from '../../src/modules/flows/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { runJobs } from '../helpers/jobs.js';

/** The mock provider, recording the length of the user message of every call it gets. */
class RecordingProvider implements ModelProvider {
  readonly id = 'mock' as const;
  private readonly inner = new MockProvider();
  readonly inputLengths: number[] = [];
  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    this.inputLengths.push(messages.find((m) => m.role === 'user')?.content.length ?? -1);
    return this.inner.stream(messages, options);
  }
}

/**
 * What a flow run checks before each step (security review): the filled-in step input is at most the
 * execute route's 100,000 characters (measured before it is built), the owner's `ai_processing` consent
 * still holds, and the account is active; and a template's placeholders are capped when the flow is saved.
 */
describe('flow runs: guards before each step', () => {
  let t: TestApp;
  let ada: TestUser;
  let provider: RecordingProvider;
  afterEach(() => t?.close());

  async function setUp(): Promise<Agent> {
    provider = new RecordingProvider();
    t = await buildTestApp({ providers: { mock: provider } });
    ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const res = await post('/api/v1/agents', { name: 'Helper', instructions: 'Answer briefly.' });
    expect(res.statusCode, res.body).toBe(201);
    return Agent.parse(res.json());
  }

  function post(url: string, payload: unknown): Promise<LightMyRequestResponse> {
    return t.app.inject({ method: 'POST', url, headers: asSession(t, ada), payload: payload as object });
  }

  async function createFlow(body: Record<string, unknown>): Promise<CreatedFlow> {
    const res = await post('/api/v1/flows', body);
    expect(res.statusCode, res.body).toBe(201);
    return CreatedFlow.parse(res.json());
  }

  async function trigger(flowId: string, input: string): Promise<Execution> {
    const res = await post(`/api/v1/flows/${flowId}/trigger`, { input });
    expect(res.statusCode, res.body).toBe(202);
    return Execution.parse(res.json());
  }

  /** A two-step flow (`first`, then `second` on its output), triggered: the queued run. */
  async function twoStepRun(): Promise<Execution> {
    const agent = await setUp();
    const flow = await createFlow({
      name: 'Two',
      steps: [
        { name: 'first', agentId: agent.id, input: '{{input}}' },
        { name: 'second', agentId: agent.id, input: '{{steps.first.output}}' },
      ],
    });
    return trigger(flow.id, 'Summarise.');
  }

  async function execution(id: string): Promise<Execution> {
    return Execution.parse(
      (await t.app.inject({ url: `/api/v1/executions/${id}`, headers: { cookie: ada.cookie } })).json(),
    );
  }

  async function steps(runId: string): Promise<[string | null, string][]> {
    const page = ExecutionPage.parse(
      (
        await t.app.inject({ url: `/api/v1/executions?parentId=${runId}`, headers: { cookie: ada.cookie } })
      ).json(),
    );
    return page.data.map((s) => [s.step, s.status]);
  }

  const webhookJobs = async () =>
    (
      await t.db.ownerQuery<{ n: number }>(
        "select count(*)::int as n from pgboss.job where name = 'webhook.deliver'",
      )
    )[0]!.n;

  it('fails the run with step_input_too_large when a filled-in step input passes 100,000 characters; exactly 100,000 runs', async () => {
    const agent = await setUp();
    const flow = await createFlow({
      name: 'Amplify',
      steps: [
        { name: 'fits', agentId: agent.id, input: '{{input}}'.repeat(4) },
        { name: 'big', agentId: agent.id, input: '{{ input }}'.repeat(5) },
        { name: 'never', agentId: agent.id, input: '{{steps.big.output}}' },
      ],
    });
    const run = await trigger(flow.id, 'x'.repeat(25_000));
    expect((await runJobs(t.app, FLOW_RUN_JOB)).map((j) => j.outcome)).toEqual(['completed']);

    // 4 × 25,000 = 100,000: the limit itself is allowed. 5 × 25,000 is refused before it is built or sent.
    expect(provider.inputLengths).toEqual([100_000]);
    expect(await steps(run.id)).toEqual([['fits', 'succeeded']]);
    const failed = await execution(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({
      code: 'step_input_too_large',
      step: 'big',
      message:
        'Step "big": The step\'s input, with its template filled in, is longer than the 100,000 characters an execution may have; use fewer placeholders or shorter inputs and outputs.',
    });
    expect(t.logs.records().find((r) => r.msg === 'flow run stopped: step input too large')).toMatchObject({
      step: 'big',
      chars: 125_000,
      limit: 100_000,
    });
  });

  it('refuses a template with more than 100 placeholders when the flow is saved, naming the step', async () => {
    const agent = await setUp();
    const res = await post('/api/v1/flows', {
      name: 'Too many',
      steps: [
        { name: 'ok', agentId: agent.id, input: '{{input}}'.repeat(100) },
        { name: 'many', agentId: agent.id, input: '{{input}} '.repeat(101) },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'validation_failed',
      errors: [
        {
          path: 'steps[1].input',
          message: 'step "many" has 101 placeholders; a step\'s input template may have at most 100',
        },
      ],
    });
    // Changing the steps is checked the same way.
    const flow = await createFlow({
      name: 'Fine',
      steps: [{ name: 'a', agentId: agent.id, input: '{{input}}' }],
    });
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${flow.id}`,
      headers: asSession(t, ada),
      payload: { steps: [{ name: 'a', agentId: agent.id, input: '{{input}}'.repeat(101) }] },
    });
    expect(patch.statusCode).toBe(400);
    expect(patch.json().errors).toEqual([
      {
        path: 'steps[0].input',
        message: 'step "a" has 101 placeholders; a step\'s input template may have at most 100',
      },
    ]);
  });

  it('fails a queued run with consent_required when ai_processing is revoked before it runs, sending nothing', async () => {
    const run = await twoStepRun();
    const revoke = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/account/consents/ai_processing',
      headers: asSession(t, ada),
      payload: { granted: false },
    });
    expect(revoke.statusCode).toBe(200);
    expect((await runJobs(t.app, FLOW_RUN_JOB)).map((j) => j.outcome)).toEqual(['completed']);
    expect(provider.inputLengths).toEqual([]);
    expect(await steps(run.id)).toEqual([]);
    const failed = await execution(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'consent_required', step: 'first' });
    expect(failed.error!.message).toContain('ai_processing consent was withdrawn');
    // The quota was not charged for a step that never started.
    const usage = await t.db.ownerQuery<{ count: number }>(
      "select count from usage_counters where user_id = $1 and metric = 'executions'",
      [ada.userId],
    );
    expect(usage.map((u) => u.count)).toEqual([]);
  });

  it('stops a run between steps when the consent is revoked while a step runs', async () => {
    const run = await twoStepRun();
    // The first step's provider call withdraws the consent (as the user would, in another tab).
    const inner = provider.stream.bind(provider);
    provider.stream = (messages, options) => {
      const stream = inner(messages, options);
      const revoked = t.db.ownerQuery(
        "update consents set granted = false where user_id = $1 and type = 'ai_processing'",
        [ada.userId],
      );
      return {
        async *[Symbol.asyncIterator]() {
          await revoked;
          yield* stream;
        },
        result: () => stream.result(),
      };
    };
    await runJobs(t.app, FLOW_RUN_JOB);
    expect(provider.inputLengths).toHaveLength(1);
    expect(await steps(run.id)).toEqual([['first', 'succeeded']]);
    expect((await execution(run.id)).error).toMatchObject({ code: 'consent_required', step: 'second' });
  });

  it('creates no run and no callback when a schedule fires for an account pending deletion; a queued run fails without a callback', async () => {
    const agent = await setUp();
    const flow = await createFlow({
      name: 'Nightly',
      steps: [{ name: 'only', agentId: agent.id, input: '{{input}}' }],
      schedule: '0 6 * * *',
      scheduleInput: 'report',
      callbackUrl: 'https://example.com/hook',
    });
    const queued = await trigger(flow.id, 'queued before the request');
    const requested = await t.app.inject({
      method: 'POST',
      url: '/api/v1/account/deletion',
      headers: asSession(t, ada),
    });
    expect(requested.statusCode, requested.body).toBe(202);

    // The run queued before the deletion request fails at its first step, and calls nobody back.
    await runJobs(t.app, FLOW_RUN_JOB);
    const [run] = await t.db.ownerQuery<{ status: string; error_code: string }>(
      'select status, error_code from executions where id = $1',
      [queued.id],
    );
    expect(run).toEqual({ status: 'failed', error_code: 'account_pending_deletion' });
    expect(provider.inputLengths).toEqual([]);
    expect(await webhookJobs()).toBe(0);

    // The schedule fires: no run is created, so nothing fails and nothing is called back.
    await t.app.jobs.send(FLOW_SCHEDULE_JOB, { userId: ada.userId, flowId: flow.id });
    expect((await runJobs(t.app)).map((j) => [j.name, j.outcome])).toEqual([
      [FLOW_SCHEDULE_JOB, 'completed'],
    ]);
    const runs = await t.db.ownerQuery<{ id: string }>(
      'select id from executions where flow_id = $1 and parent_id is null',
      [flow.id],
    );
    expect(runs.map((r) => r.id)).toEqual([queued.id]);
    expect(await webhookJobs()).toBe(0);
    expect(t.logs.records().find((r) => r.msg === 'scheduled flow run skipped')).toMatchObject({
      flowId: flow.id,
      code: 'account_pending_deletion',
    });
  });
});
