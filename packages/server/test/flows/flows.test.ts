import { Execution, ExecutionPage, Flow, FlowPage } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { postgresDatabase } from '../../src/db/client.js';
import { withUser } from '../../src/db/tenant.js';
import { ProviderError } from '../../src/modules/ai/providers/errors.js';
import { MockProvider, mockCompletion } from '../../src/modules/ai/providers/mock.js';
import type {
  ChatMessage,
  ModelProvider,
  ProviderStream,
  StreamOptions,
} from '../../src/modules/ai/providers/types.js';
import { FLOW_RUN_JOB, FLOW_SCHEDULE_JOB } from '../../src/modules/flows/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, createTestDatabase, type TestApp } from '../helpers/app.js';
import { createAgent, createFlow } from '../helpers/flows.js';
import { auditEvents } from '../helpers/identity.js';
import { runJobs } from '../helpers/jobs.js';
import { FailOnKeywordProvider } from '../helpers/providers.js';

/**
 * The mock provider, except that a prompt containing HOLD sends one delta and then holds the call open until
 * its signal aborts (then fails with `provider_cancelled`, as the real adapters do). `holding` resolves once
 * such a call is held.
 */
class HoldProvider implements ModelProvider {
  readonly id = 'mock' as const;
  private readonly inner = new MockProvider();
  private entered!: () => void;
  /** Hold only the first such call (a retry then runs normally). */
  constructor(private readonly once = false) {}
  private held = false;
  readonly holding = new Promise<void>((resolve) => {
    this.entered = resolve;
  });
  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    if (!last.includes('HOLD') || (this.once && this.held)) return this.inner.stream(messages, options);
    this.held = true;
    const self = this;
    let fail!: (error: unknown) => void;
    const result = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    result.catch(() => {});
    async function* run(): AsyncGenerator<string> {
      yield 'partial ';
      self.entered();
      await new Promise<void>((resolve) => {
        if (options.signal?.aborted) resolve();
        else options.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      const error = new ProviderError('provider_cancelled', 'mock');
      fail(error);
      throw error;
    }
    const iterator = run();
    return { [Symbol.asyncIterator]: () => iterator, result: () => result };
  }
}

/** What the mock provider answers an agent with `instructions` to `input` (its output is derived from both). */
function mockOutput(input: string, instructions = 'Answer briefly.'): string {
  return mockCompletion(
    [
      { role: 'system', content: instructions },
      { role: 'user', content: input },
    ],
    { model: 'mock' },
  ).chunks.join('');
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function post(app: TestApp, user: TestUser, url: string, payload: unknown): Promise<LightMyRequestResponse> {
  return app.app.inject({ method: 'POST', url, headers: asSession(app, user), payload: payload as object });
}

function get(app: TestApp, user: TestUser, url: string): Promise<LightMyRequestResponse> {
  return app.app.inject({ url, headers: { cookie: user.cookie } });
}

/** Three steps: draft from the input, critique the draft, final answer from both. */
function threeSteps(agentId: string) {
  return [
    { name: 'draft', agentId, input: 'Draft an answer to: {{input}}' },
    { name: 'critique', agentId, input: 'Critique this draft: {{ steps.draft.output }}' },
    {
      name: 'final',
      agentId,
      input: 'Question: {{input}}\nDraft: {{steps.draft.output}}\nCritique: {{steps.critique.output}}',
    },
  ];
}

async function execution(app: TestApp, user: TestUser, id: string): Promise<Execution> {
  const res = await get(app, user, `/api/v1/executions/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return Execution.parse(res.json());
}

/** Triggers `flowId` for `user` with `input` and returns the run (its status is the caller's to check). */
async function triggerRun(app: TestApp, user: TestUser, flowId: string, input: string): Promise<Execution> {
  return Execution.parse((await post(app, user, `/api/v1/flows/${flowId}/trigger`, { input })).json());
}

/**
 * Signs ada in (Pro) on `app` and triggers a flow `name` of three steps whose second one's input starts with
 * HOLD (held by a {@link HoldProvider}), with input `x`.
 */
async function triggerHeldRun(app: TestApp, name: string): Promise<{ ada: TestUser; run: Execution }> {
  const ada = await userOnPlan(app, 'ada@example.test', 'pro');
  const agent = await createAgent(app, ada);
  const flow = await createFlow(app, ada, {
    name,
    steps: [
      { name: 'first', agentId: agent.id, input: '{{input}}' },
      { name: 'second', agentId: agent.id, input: 'HOLD {{steps.first.output}}' },
      { name: 'third', agentId: agent.id, input: '{{steps.second.output}}' },
    ],
  });
  return { ada, run: await triggerRun(app, ada, flow.id, 'x') };
}

/** Asserts the finished three-step run: each step's input is its template filled with earlier outputs. */
async function expectThreeStepRun(
  app: TestApp,
  user: TestUser,
  runId: string,
  flowId: string,
  input: string,
) {
  const run = await execution(app, user, runId);
  // The test clock stands still, so order the steps by their place in the flow, not by time.
  const order = ['draft', 'critique', 'final'];
  const steps = ExecutionPage.parse(
    (await get(app, user, `/api/v1/executions?parentId=${runId}&limit=10`)).json(),
  ).data.sort((x, y) => order.indexOf(x.step!) - order.indexOf(y.step!));
  expect(steps.map((s) => [s.step, s.status, s.parentId, s.flowId])).toEqual([
    ['draft', 'succeeded', runId, flowId],
    ['critique', 'succeeded', runId, flowId],
    ['final', 'succeeded', runId, flowId],
  ]);
  const draftInput = `Draft an answer to: ${input}`;
  const draft = mockOutput(draftInput);
  const critiqueInput = `Critique this draft: ${draft}`;
  const critique = mockOutput(critiqueInput);
  const finalInput = `Question: ${input}\nDraft: ${draft}\nCritique: ${critique}`;
  expect(steps.map((s) => s.input)).toEqual([draftInput, critiqueInput, finalInput]);
  expect(steps.map((s) => s.output)).toEqual([draft, critique, mockOutput(finalInput)]);
  expect(run).toMatchObject({
    id: runId,
    flowId,
    parentId: null,
    step: null,
    agentId: null,
    model: null,
    provider: null,
    status: 'succeeded',
    input,
    output: steps[2]!.output,
    error: null,
    usage: {
      inputTokens: steps.reduce((n, s) => n + s.usage!.inputTokens, 0),
      outputTokens: steps.reduce((n, s) => n + s.usage!.outputTokens, 0),
    },
  });
  return { run, steps };
}

describe('flows: CRUD and validation', () => {
  it('creates, lists, reads, changes and deletes a flow, audited', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const created = await createFlow(t, ada, {
      name: 'Review',
      description: 'Draft, critique, answer',
      steps: threeSteps(agent.id),
    });
    expect(created).toMatchObject({
      name: 'Review',
      description: 'Draft, critique, answer',
      steps: threeSteps(agent.id),
      schedule: null,
      scheduleInput: '',
      callbackUrl: null,
      hasCallbackSecret: false,
    });
    expect(created.id).toMatch(/^flw_[0-9a-z]{24}$/);
    expect(created.callbackSecret).toBeUndefined();

    const list = FlowPage.parse((await get(t, ada, '/api/v1/flows')).json());
    expect(list).toEqual({ data: [Flow.parse(created)], nextCursor: null });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${created.id}`,
      headers: asSession(t, ada),
      payload: { name: 'Review 2', steps: threeSteps(agent.id).slice(0, 1) },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Review 2', steps: threeSteps(agent.id).slice(0, 1) });
    expect((await get(t, ada, `/api/v1/flows/${created.id}`)).json().name).toBe('Review 2');

    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    expect((await get(t, bob, `/api/v1/flows/${created.id}`)).statusCode).toBe(404);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/flows/${created.id}`,
      headers: asSession(t, ada),
    });
    expect(deleted.statusCode).toBe(204);
    expect((await get(t, ada, `/api/v1/flows/${created.id}`)).statusCode).toBe(404);
    const actions = (await auditEvents(t)).filter((e) => e.action.startsWith('flow.'));
    expect(actions.map((e) => [e.action, e.resource_id])).toEqual([
      ['flow.created', created.id],
      ['flow.updated', created.id],
      ['flow.deleted', created.id],
    ]);
    expect(actions[1]!.metadata).toEqual({ fields: ['name', 'steps'] });
  });

  it('refuses templates that refer to unknown, later or misspelt names, naming the step and the reference', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const cases: [unknown[], string, string][] = [
      [
        [{ name: 'a', agentId: agent.id, input: 'Use {{steps.nope.output}}' }],
        'steps[0].input',
        'step "a" refers to {{steps.nope.output}}, but the flow has no step named "nope"',
      ],
      [
        [
          { name: 'a', agentId: agent.id, input: '{{steps.b.output}}' },
          { name: 'b', agentId: agent.id, input: '{{input}}' },
        ],
        'steps[0].input',
        'step "a" refers to {{steps.b.output}}, but step "b" does not run before it; a step can use only the outputs of earlier steps',
      ],
      [
        [{ name: 'a', agentId: agent.id, input: '{{ inptu }}' }],
        'steps[0].input',
        'step "a" uses {{ inptu }}, which is not a template reference; use {{input}} or {{steps.<name>.output}}',
      ],
      [
        [
          { name: 'a', agentId: agent.id, input: '{{input}}' },
          { name: 'a', agentId: agent.id, input: '{{input}}' },
        ],
        'steps[1].name',
        'step names must be unique: "a" is already the name of step 1',
      ],
      [
        [{ name: 'a', agentId: 'agt_000000000000000000000000', input: '{{input}}' }],
        'steps[0].agentId',
        'step "a" names agent agt_000000000000000000000000, which does not exist',
      ],
    ];
    for (const [steps, path, message] of cases) {
      const res = await post(t, ada, '/api/v1/flows', { name: 'bad', steps });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        detail: `The flow is not valid: ${message}.`,
        errors: [{ path, message }],
      });
    }
    const cron = await post(t, ada, '/api/v1/flows', {
      name: 'bad',
      steps: [{ name: 'a', agentId: agent.id, input: '{{input}}' }],
      schedule: '61 * * * *',
    });
    expect(cron.statusCode).toBe(400);
    expect(cron.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'schedule' }] });
    expect(FlowPage.parse((await get(t, ada, '/api/v1/flows')).json()).data).toEqual([]);
  });

  it('shows a callback signing secret once, stores it sealed, and refuses a private callback URL', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const steps = [{ name: 'a', agentId: agent.id, input: '{{input}}' }];
    const refused = await post(t, ada, '/api/v1/flows', {
      name: 'x',
      steps,
      callbackUrl: 'http://169.254.169.254/latest',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('invalid_callback_url');
    const created = await createFlow(t, ada, { name: 'x', steps, callbackUrl: 'https://example.com/hook' });
    expect(created.callbackSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.hasCallbackSecret).toBe(true);
    const read = (await get(t, ada, `/api/v1/flows/${created.id}`)).json();
    expect(read).not.toHaveProperty('callbackSecret');
    const [row] = await t.db.ownerQuery<{ secret: Buffer }>(
      'select callback_secret as secret from flows where id = $1',
      [created.id],
    );
    expect(row!.secret.includes(Buffer.from(created.callbackSecret!))).toBe(false);
    const secret = await withUser(t.app.db, ada.userId, (tx) =>
      t!.app.flows.signingSecret(tx, ada.userId, created.id, 'https://example.com/hook'),
    );
    expect(secret).toBe(created.callbackSecret);
    const same = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${created.id}`,
      headers: asSession(t, ada),
      payload: { callbackUrl: 'https://example.com/hook' },
    });
    expect(same.json()).not.toHaveProperty('callbackSecret');
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${created.id}`,
      headers: asSession(t, ada),
      payload: { callbackUrl: 'https://example.org/other' },
    });
    expect(moved.json().callbackSecret).toMatch(/^whsec_/);
    expect(moved.json().callbackSecret).not.toBe(created.callbackSecret);
  });
});

describe('flows: runs', () => {
  it('queues a run (202), answers 409 while it is queued, and runs three steps whose outputs feed later templates', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, { name: 'Review', steps: threeSteps(agent.id) });
    const res = await post(t, ada, `/api/v1/flows/${flow.id}/trigger`, { input: 'Why is the sky blue?' });
    expect(res.statusCode, res.body).toBe(202);
    const queued = Execution.parse(res.json());
    expect(res.headers.location).toBe(`/api/v1/executions/${queued.id}`);
    expect(queued).toMatchObject({ status: 'queued', flowId: flow.id, parentId: null, model: null });

    const again = await post(t, ada, `/api/v1/flows/${flow.id}/trigger`, { input: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'flow_already_running', executionId: queued.id });
    expect(again.json().detail).toContain(`POST /api/v1/executions/${queued.id}/cancel`);

    const ran = await runJobs(t.app, FLOW_RUN_JOB);
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    await expectThreeStepRun(t, ada, queued.id, flow.id, 'Why is the sky blue?');

    // Lists: the flow's runs, and every execution of the flow (the run and its steps).
    const runs = ExecutionPage.parse((await get(t, ada, `/api/v1/flows/${flow.id}/executions`)).json());
    expect(runs.data.map((r) => r.id)).toEqual([queued.id]);
    const all = ExecutionPage.parse((await get(t, ada, `/api/v1/executions?flowId=${flow.id}`)).json());
    expect(all.data).toHaveLength(4);
    // Each step counted one unit of the monthly quota; the run none.
    const [usage] = await t.db.ownerQuery<{ count: number }>(
      "select count from usage_counters where user_id = $1 and metric = 'executions'",
      [ada.userId],
    );
    expect(usage!.count).toBe(3);
    const triggered = (await auditEvents(t)).filter((e) => e.action === 'flow.triggered');
    expect(triggered).toEqual([
      expect.objectContaining({
        outcome: 'success',
        resource_id: flow.id,
        metadata: expect.objectContaining({ executionId: queued.id, trigger: 'api' }),
      }),
    ]);
    // Finished: a new run may start.
    expect((await post(t, ada, `/api/v1/flows/${flow.id}/trigger`, { input: 'next' })).statusCode).toBe(202);
  });

  it('fails the run naming the failed step, and does not run the steps after it', async () => {
    t = await buildTestApp({ providers: { mock: new FailOnKeywordProvider() } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, {
      name: 'Breaks',
      steps: [
        { name: 'first', agentId: agent.id, input: '{{input}}' },
        { name: 'second', agentId: agent.id, input: 'FAIL on {{steps.first.output}}' },
        { name: 'third', agentId: agent.id, input: '{{steps.second.output}}' },
      ],
    });
    const run = await triggerRun(t, ada, flow.id, 'hello');
    await runJobs(t.app, FLOW_RUN_JOB);
    const failed = await execution(t, ada, run.id);
    expect(failed).toMatchObject({
      status: 'failed',
      output: null,
      error: {
        code: 'step_failed',
        step: 'second',
        message: `The flow run failed in step "second"; that step's execution (its parentId is this run) says why.`,
      },
    });
    const steps = ExecutionPage.parse((await get(t, ada, `/api/v1/executions?parentId=${run.id}`)).json());
    expect(
      steps.data
        .map((s) => [s.step, s.status, s.error?.code ?? null])
        .sort((x, y) => x[0]!.localeCompare(y[0]!)),
    ).toEqual([
      ['first', 'succeeded', null],
      ['second', 'failed', 'provider_unavailable'],
    ]);
  });

  it('cancels a queued run and its step; the worker then runs nothing', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, { name: 'c', steps: threeSteps(agent.id) });
    const run = await triggerRun(t, ada, flow.id, 'x');
    const cancelled = await post(t, ada, `/api/v1/executions/${run.id}/cancel`, {});
    expect(cancelled.json().status).toBe('cancelled');
    await runJobs(t.app, FLOW_RUN_JOB);
    expect((await execution(t, ada, run.id)).status).toBe('cancelled');
    expect(
      ExecutionPage.parse((await get(t, ada, `/api/v1/executions?parentId=${run.id}`)).json()).data,
    ).toEqual([]);
  });

  it('cancels a running run: the step it is running is cancelled and the later steps never start', async () => {
    const provider = new HoldProvider();
    t = await buildTestApp({ providers: { mock: provider } });
    const { ada, run } = await triggerHeldRun(t, 'held');
    const worker = runJobs(t.app, FLOW_RUN_JOB);
    await provider.holding;
    const cancelled = await post(t, ada, `/api/v1/executions/${run.id}/cancel`, {});
    expect(cancelled.json()).toMatchObject({ id: run.id, status: 'cancelled' });
    expect((await worker).map((j) => j.outcome)).toEqual(['completed']);
    expect((await execution(t, ada, run.id)).status).toBe('cancelled');
    const steps = ExecutionPage.parse((await get(t, ada, `/api/v1/executions?parentId=${run.id}`)).json());
    expect(steps.data.map((s) => [s.step, s.status]).sort((x, y) => x[0]!.localeCompare(y[0]!))).toEqual([
      ['first', 'succeeded'],
      ['second', 'cancelled'],
    ]);
    const reasons = (await auditEvents(t))
      .filter((e) => e.action === 'execution.cancelled')
      .map((e) => [e.resource_id, e.metadata.reason]);
    expect(reasons).toEqual([
      [run.id, 'cancel_route'],
      [steps.data.find((s) => s.step === 'second')!.id, 'flow_run_cancelled'],
    ]);
  });

  it('resumes a run its worker stopped in the middle: finished steps are kept, the interrupted one runs again', async () => {
    const provider = new HoldProvider(true);
    t = await buildTestApp({ providers: { mock: provider } });
    const { ada, run } = await triggerHeldRun(t, 'resumed');
    const worker = runJobs(t.app, FLOW_RUN_JOB);
    await provider.holding;
    // What a shutting-down instance does to the executions it runs (preClose): the held step is cancelled.
    await t.app.executions.close();
    const [interrupted] = await worker;
    expect(interrupted).toMatchObject({ outcome: 'failed', error: expect.stringContaining('interrupted') });
    expect((await execution(t, ada, run.id)).status).toBe('running');
    // The job's retry (after its delay) resumes the run.
    expect((await runJobs(t.app, FLOW_RUN_JOB, { includeDelayed: true })).map((j) => j.outcome)).toEqual([
      'completed',
    ]);
    const done = await execution(t, ada, run.id);
    expect(done.status).toBe('succeeded');
    const steps = ExecutionPage.parse((await get(t, ada, `/api/v1/executions?parentId=${run.id}`)).json());
    expect(steps.data.map((s) => [s.step, s.status]).sort((x, y) => `${x}`.localeCompare(`${y}`))).toEqual([
      ['first', 'succeeded'],
      ['second', 'cancelled'],
      ['second', 'succeeded'],
      ['third', 'succeeded'],
    ]);
    const first = steps.data.find((s) => s.step === 'first')!;
    const second = steps.data.find((s) => s.step === 'second' && s.status === 'succeeded')!;
    expect(second.input).toBe(`HOLD ${first.output}`);
    expect(done.output).toBe(steps.data.find((s) => s.step === 'third')!.output);
  });

  it('refuses a trigger when fewer executions than steps are left this month', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'free');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, { name: 'q', steps: threeSteps(agent.id) });
    const period = t.clock.now().toISOString().slice(0, 7);
    await t.db.ownerQuery(
      "insert into usage_counters (user_id, metric, period, count) values ($1, 'executions', $2, 48)",
      [ada.userId, period],
    );
    const res = await post(t, ada, `/api/v1/flows/${flow.id}/trigger`, { input: 'x' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'plan_limit_reached', limit: 'executionsPerMonth', max: 50 });
    expect(res.json().detail).toContain('This flow runs 3 agent executions but only 2 of');
  });

  it('enqueues the webhook callback in the final transaction of a run with a callbackUrl', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, {
      name: 'cb',
      steps: [{ name: 'a', agentId: agent.id, input: '{{input}}' }],
      callbackUrl: 'https://example.com/hook',
    });
    const run = await triggerRun(t, ada, flow.id, 'x');
    await runJobs(t.app, FLOW_RUN_JOB);
    // The delivery itself is the webhooks module's (and would leave the machine): only check the job.
    const jobs = await t.db.ownerQuery<{ data: Record<string, unknown> }>(
      "select data from pgboss.job where name = 'webhook.deliver'",
    );
    expect(jobs.map((j) => j.data)).toEqual([
      expect.objectContaining({
        userId: ada.userId,
        executionId: run.id,
        flowId: flow.id,
        eventType: 'flow.run.completed',
        url: 'https://example.com/hook',
      }),
    ]);
  });
});

describe('flows: schedules', () => {
  it('stores the schedule in the job queue with the flow, runs it when it fires, and removes it', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, {
      name: 's',
      steps: threeSteps(agent.id),
      schedule: '0  6 * * 1-5',
      scheduleInput: 'Morning report',
    });
    expect(flow.schedule).toBe('0 6 * * 1-5');
    expect(await t.app.jobs.schedules(FLOW_SCHEDULE_JOB)).toEqual([
      {
        name: FLOW_SCHEDULE_JOB,
        key: flow.id,
        cron: '0 6 * * 1-5',
        data: { userId: ada.userId, flowId: flow.id },
      },
    ]);
    // What the cron pass sends when the schedule comes due:
    await t.app.jobs.send(FLOW_SCHEDULE_JOB, { userId: ada.userId, flowId: flow.id });
    const ran = await runJobs(t.app);
    expect(ran.map((j) => [j.name, j.outcome])).toEqual([
      [FLOW_SCHEDULE_JOB, 'completed'],
      [FLOW_RUN_JOB, 'completed'],
    ]);
    const runs = ExecutionPage.parse((await get(t, ada, `/api/v1/flows/${flow.id}/executions`)).json());
    expect(runs.data).toHaveLength(1);
    await expectThreeStepRun(t, ada, runs.data[0]!.id, flow.id, 'Morning report');
    const triggered = (await auditEvents(t)).filter((e) => e.action === 'flow.triggered');
    expect(triggered[0]!.metadata).toMatchObject({ trigger: 'schedule' });

    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${flow.id}`,
      headers: asSession(t, ada),
      payload: { schedule: '*/15 * * * *' },
    });
    expect((await t.app.jobs.schedules(FLOW_SCHEDULE_JOB)).map((s) => s.cron)).toEqual(['*/15 * * * *']);
    await t.app.inject({ method: 'DELETE', url: `/api/v1/flows/${flow.id}`, headers: asSession(t, ada) });
    expect(await t.app.jobs.schedules(FLOW_SCHEDULE_JOB)).toEqual([]);
  });

  it('skips a scheduled run while ai_processing consent is revoked, and runs it again once granted', async () => {
    const app = await buildTestApp();
    t = app;
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, { name: 's', steps: threeSteps(agent.id), schedule: '0 6 * * *' });
    const consent = (granted: boolean) =>
      app.app.inject({
        method: 'PUT',
        url: '/api/v1/account/consents/ai_processing',
        headers: asSession(app, ada),
        payload: { granted },
      });
    expect((await consent(false)).statusCode).toBe(200);
    await t.app.jobs.send(FLOW_SCHEDULE_JOB, { userId: ada.userId, flowId: flow.id });
    expect((await runJobs(t.app)).map((j) => [j.name, j.outcome])).toEqual([
      [FLOW_SCHEDULE_JOB, 'completed'],
    ]);
    expect(
      ExecutionPage.parse((await get(t, ada, `/api/v1/flows/${flow.id}/executions`)).json()).data,
    ).toEqual([]);
    expect((await auditEvents(t)).filter((e) => e.action === 'flow.triggered')).toEqual([]);
    expect((await t.app.jobs.schedules(FLOW_SCHEDULE_JOB)).map((s) => s.key)).toEqual([flow.id]);

    expect((await consent(true)).statusCode).toBe(200);
    await t.app.jobs.send(FLOW_SCHEDULE_JOB, { userId: ada.userId, flowId: flow.id });
    expect((await runJobs(t.app)).map((j) => [j.name, j.outcome])).toEqual([
      [FLOW_SCHEDULE_JOB, 'completed'],
      [FLOW_RUN_JOB, 'completed'],
    ]);
    expect(
      ExecutionPage.parse((await get(t, ada, `/api/v1/flows/${flow.id}/executions`)).json()).data,
    ).toHaveLength(1);
  });

  it.runIf(backend === 'postgres')(
    'keeps a schedule across a restart and fires it once with two workers',
    async () => {
      const db = await createTestDatabase();
      const env = {
        FLEECE_WORKERS: 'inline',
        FLEECE_SCHEDULE_CHECK_SECONDS: '1',
        FLEECE_WORKER_POLL_SECONDS: '1',
      };
      // Created by an instance that then stops: the schedule lives in the database, not in a process.
      const first = await buildTestApp({ db });
      const ada = await userOnPlan(first, 'ada@example.test', 'pro');
      const agent = await createAgent(first, ada);
      const flow = await createFlow(first, ada, {
        name: 'every minute',
        steps: [{ name: 'only', agentId: agent.id, input: '{{input}}' }],
        schedule: '* * * * *',
        scheduleInput: 'tick',
      });
      await first.app.close();
      // Each instance has its own pool on the same database, as separate processes would.
      const instance = () => buildTestApp({ db: { ...db, database: postgresDatabase(db.url!, 5) }, env });
      const apps = [await instance(), await instance()];
      try {
        await Promise.all(apps.map((a) => a.app.ready()));
        const runs = async () =>
          db.ownerQuery<{ id: string; status: string; minute: Date }>(
            `select id, status, date_trunc('minute', created_at) as minute from executions
              where flow_id = $1 and parent_id is null`,
            [flow.id],
          );
        await vi.waitFor(async () => expect((await runs()).map((r) => r.status)).toContain('succeeded'), {
          timeout: 30_000,
          interval: 250,
        });
        const passes = async () =>
          (await db.ownerQuery<{ at: Date }>('select cron_on as at from pgboss.version'))[0]!.at.getTime();
        const after = await passes();
        await vi.waitFor(async () => expect(await passes()).toBeGreaterThan(after + 1500), {
          timeout: 20_000,
          interval: 200,
        });
        const all = await runs();
        // One run per minute that came due (two if the test straddled a minute), never two for one minute.
        expect(all.length).toBe(new Set(all.map((r) => r.minute.getTime())).size);
        const scheduleJobs = await db.ownerQuery<{ n: number }>(
          "select count(*)::int as n from pgboss.job where name = 'flow.scheduled'",
        );
        expect(scheduleJobs[0]!.n).toBe(all.length);
      } finally {
        for (const a of apps) await a.app.close();
        await db.destroy();
      }
    },
  );
});

describe('flows: a real worker', () => {
  it('runs a triggered three-step flow in the inline worker', async () => {
    t = await buildTestApp({ env: { FLEECE_WORKERS: 'inline', FLEECE_WORKER_POLL_SECONDS: '1' } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(t, ada);
    const flow = await createFlow(t, ada, { name: 'Review', steps: threeSteps(agent.id) });
    const run = await triggerRun(t, ada, flow.id, 'Why is grass green?');
    await vi.waitFor(async () => expect((await execution(t!, ada, run.id)).status).toBe('succeeded'), {
      timeout: 30_000,
      interval: 200,
    });
    await expectThreeStepRun(t, ada, run.id, flow.id, 'Why is grass green?');
  });
});
