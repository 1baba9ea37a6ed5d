import {
  CreatedFlow,
  Execution,
  verifyWebhookSignature,
  WebhookDeliveryPage,
  WebhookEvent,
} from '@fleece/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_RUN_JOB } from '../../src/modules/flows/service.js';
import { WEBHOOK_DELIVER_JOB } from '../../src/modules/webhooks/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent, createFlow } from '../helpers/flows.js';
import { runJobs } from '../helpers/jobs.js';
import { FailOnKeywordProvider } from '../helpers/providers.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * A flow's webhook callback from end to end (issue 6 "Webhook callbacks"): a flow saved with a callback URL
 * gets its signing secret once; a triggered run, run by the worker, enqueues the callback in its final
 * transaction; the delivery job POSTs it to a real receiver on 127.0.0.1 (loopback explicitly allowed), which
 * verifies it with the SDK and the secret from the create answer.
 */
describe('flow run callbacks', () => {
  let t: TestApp;
  let ada: TestUser;
  let receiver: Receiver;

  afterEach(async () => {
    await receiver?.close();
    await t?.close();
  });

  async function flowWithCallback(steps: { name: string; input: string }[]): Promise<CreatedFlow> {
    const agent = await createAgent(t, ada);
    return createFlow(t, ada, {
      name: 'Report',
      steps: steps.map((s) => ({ ...s, agentId: agent.id })),
      callbackUrl: `${receiver.origin}/fleece`,
    });
  }

  async function trigger(flowId: string, input: string): Promise<Execution> {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/flows/${flowId}/trigger`,
      headers: asSession(t, ada),
      payload: { input },
    });
    expect(res.statusCode, res.body).toBe(202);
    return Execution.parse(res.json());
  }

  it('delivers flow.run.completed with the run output, verified with the secret shown at create', async () => {
    t = await buildTestApp({ env: { FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' } });
    ada = await userOnPlan(t, 'ada@example.com', 'pro');
    const verified: string[] = [];
    let secret = '';
    receiver = await startReceiver((req, res) => {
      const event = verifyWebhookSignature(req.body, req.headers['fleece-signature'], secret, {
        now: t.clock.now(),
      });
      verified.push(event.type);
      res.writeHead(204).end();
    });
    const flow = await flowWithCallback([
      { name: 'draft', input: 'Draft: {{input}}' },
      { name: 'final', input: 'Polish: {{steps.draft.output}}' },
    ]);
    secret = flow.callbackSecret!;
    expect(secret).toMatch(/^whsec_/);
    const run = await trigger(flow.id, 'quarterly numbers');

    expect((await runJobs(t.app, FLOW_RUN_JOB)).map((j) => j.outcome)).toEqual(['completed']);
    expect(receiver.requests).toHaveLength(0); // the callback is a job of its own
    expect((await runJobs(t.app, WEBHOOK_DELIVER_JOB)).map((j) => j.outcome)).toEqual(['completed']);

    expect(verified).toEqual(['flow.run.completed']);
    const finished = Execution.parse(
      (await t.app.inject({ url: `/api/v1/executions/${run.id}`, headers: { cookie: ada.cookie } })).json(),
    );
    expect(finished.status).toBe('succeeded');
    const event = WebhookEvent.parse(JSON.parse(receiver.requests[0]!.body.toString('utf8')));
    expect(event.data).toEqual({
      executionId: run.id,
      flowId: flow.id,
      status: 'succeeded',
      output: finished.output,
      error: null,
      createdAt: finished.createdAt,
      startedAt: finished.startedAt,
      finishedAt: finished.finishedAt,
      durationMs: finished.durationMs,
    });

    const attempts = WebhookDeliveryPage.parse(
      (
        await t.app.inject({
          url: `/api/v1/executions/${run.id}/deliveries`,
          headers: { cookie: ada.cookie },
        })
      ).json(),
    );
    expect(attempts.data.map((d) => [d.attempt, d.outcome, d.status, d.url])).toEqual([
      [1, 'succeeded', 204, `${receiver.origin}/fleece`],
    ]);
  });

  it('delivers flow.run.failed naming the failed step', async () => {
    t = await buildTestApp({
      env: { FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' },
      providers: { mock: new FailOnKeywordProvider() },
    });
    ada = await userOnPlan(t, 'ada@example.com', 'pro');
    receiver = await startReceiver();
    const flow = await flowWithCallback([
      { name: 'draft', input: 'Draft: {{input}}' },
      { name: 'check', input: 'FAIL on {{steps.draft.output}}' },
    ]);
    const run = await trigger(flow.id, 'anything');
    await runJobs(t.app, FLOW_RUN_JOB);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB);

    const [request] = receiver.requests;
    const event = verifyWebhookSignature(
      request!.body,
      request!.headers['fleece-signature'],
      flow.callbackSecret!,
      {
        now: t.clock.now(),
      },
    );
    expect(event.type).toBe('flow.run.failed');
    expect(event.data).toMatchObject({
      executionId: run.id,
      flowId: flow.id,
      status: 'failed',
      output: null,
      error: { code: 'step_failed', step: 'check' },
    });
  });

  it('sends nothing for a flow without a callback URL', async () => {
    t = await buildTestApp({ env: { FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' } });
    ada = await userOnPlan(t, 'ada@example.com', 'pro');
    receiver = await startReceiver();
    const agent = await createAgent(t, ada, { name: 'Helper' });
    const flow = await createFlow(t, ada, {
      name: 'Quiet',
      steps: [{ name: 'only', agentId: agent.id, input: '{{input}}' }],
    });
    const run = await trigger(flow.id, 'hello');
    await runJobs(t.app, FLOW_RUN_JOB);
    expect(await runJobs(t.app, WEBHOOK_DELIVER_JOB)).toEqual([]);
    const attempts = await t.app.inject({
      url: `/api/v1/executions/${run.id}/deliveries`,
      headers: { cookie: ada.cookie },
    });
    expect(attempts.json()).toEqual({ data: [], nextCursor: null });
  });
});

describe('flow callback URLs in production (claim C2)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('refuses a plain-http callbackUrl on create and update, and accepts https', async () => {
    t = await buildTestApp({
      env: {
        NODE_ENV: 'production',
        FLEECE_SECRET: 'p'.repeat(48),
        FLEECE_PUBLIC_URL: 'https://fleece.example.com',
        FLEECE_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
      },
    });
    const app = t;
    const ada = await userOnPlan(app, 'ada@example.com', 'pro');
    const agent = await createAgent(app, ada, { name: 'Helper' });
    const steps = [{ name: 'only', agentId: agent.id, input: '{{input}}' }];
    const create = (callbackUrl: string) =>
      app.app.inject({
        method: 'POST',
        url: '/api/v1/flows',
        headers: asSession(app, ada),
        payload: { name: 'Report', steps, callbackUrl },
      });

    const refused = await create('http://hooks.example.com/fleece');
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({
      code: 'invalid_callback_url',
      detail: 'callbackUrl must use https: production sends webhook callbacks over TLS only.',
    });
    const created = await create('https://hooks.example.com/fleece');
    expect(created.statusCode, created.body).toBe(201);
    const flow = CreatedFlow.parse(created.json());
    expect(flow.callbackSecret).toMatch(/^whsec_/);

    const update = await app.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${flow.id}`,
      headers: asSession(app, ada),
      payload: { callbackUrl: 'http://hooks.example.com/other' },
    });
    expect(update.statusCode).toBe(400);
    expect(update.json().code).toBe('invalid_callback_url');
  });
});
