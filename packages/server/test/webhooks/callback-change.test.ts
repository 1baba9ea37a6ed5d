import { CreatedFlow, Execution, verifyWebhookSignature, WebhookDeliveryPage } from '@fleece/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_RUN_JOB } from '../../src/modules/flows/service.js';
import { WEBHOOK_DELIVER_JOB, WEBHOOK_MAX_ATTEMPTS } from '../../src/modules/webhooks/service.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent, createFlow } from '../helpers/flows.js';
import { runJobs } from '../helpers/jobs.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * A retry of a callback after the flow's callback URL changed (security review): the event was made for the
 * old URL, so the retry must not go there (the old receiver is no longer the owner's choice), and must never
 * be signed with the new URL's secret. The attempt is recorded as `callback_changed` and not retried.
 */
describe('webhook retries after the callback URL changed', () => {
  let t: TestApp;
  let ada: TestUser;
  const receivers: Receiver[] = [];

  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
    await t?.close();
  });

  async function setUp(): Promise<{ flow: CreatedFlow; run: Execution; old: Receiver }> {
    t = await buildTestApp({ env: { FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' } });
    ada = await userOnPlan(t, 'ada@example.com', 'pro');
    // The old receiver fails the first attempt, so a retry is queued for its URL.
    const old = await startReceiver((_req, res) => res.writeHead(503).end());
    receivers.push(old);
    const agent = await createAgent(t, ada, { name: 'Helper' });
    const flow = await createFlow(t, ada, {
      name: 'Report',
      steps: [{ name: 'only', agentId: agent.id, input: '{{input}}' }],
      callbackUrl: `${old.origin}/old`,
    });
    const triggered = await t.app.inject({
      method: 'POST',
      url: `/api/v1/flows/${flow.id}/trigger`,
      headers: asSession(t, ada),
      payload: { input: 'x' },
    });
    const run = Execution.parse(triggered.json());
    await runJobs(t.app, FLOW_RUN_JOB);
    expect((await runJobs(t.app, WEBHOOK_DELIVER_JOB)).map((j) => j.outcome)).toEqual(['completed']);
    expect(old.requests).toHaveLength(1);
    return { flow, run, old };
  }

  const patch = (flowId: string, callbackUrl: string | null) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${flowId}`,
      headers: asSession(t, ada),
      payload: { callbackUrl },
    });

  async function deliveries(executionId: string) {
    const res = await t.app.inject({
      url: `/api/v1/executions/${executionId}/deliveries`,
      headers: { cookie: ada.cookie },
    });
    expect(res.statusCode).toBe(200);
    return WebhookDeliveryPage.parse(res.json()).data;
  }

  it('stops the retry when the URL changed: the old URL is not called and the new one gets nothing for that event', async () => {
    const { flow, run, old } = await setUp();
    const fresh = await startReceiver();
    receivers.push(fresh);
    const changed = await patch(flow.id, `${fresh.origin}/new`);
    expect(changed.statusCode, changed.body).toBe(200);
    expect(CreatedFlow.parse(changed.json()).callbackSecret).toMatch(/^whsec_/);

    const ran = await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    expect(old.requests).toHaveLength(1);
    expect(fresh.requests).toHaveLength(0);
    const [last, first] = await deliveries(run.id);
    expect(first).toMatchObject({ attempt: 1, outcome: 'failed', status: 503, errorCode: 'http_error' });
    expect(last).toMatchObject({
      attempt: 2,
      outcome: 'failed',
      status: null,
      errorCode: 'callback_changed',
      url: `${old.origin}/old`,
      durationMs: 0,
      nextAttemptAt: null,
    });
  });

  it("calls the new URL for a run that finishes after the change, signed with the new URL's secret", async () => {
    const { flow } = await setUp();
    const fresh = await startReceiver();
    receivers.push(fresh);
    const changed = await patch(flow.id, `${fresh.origin}/new`);
    const second = await t.app.inject({
      method: 'POST',
      url: `/api/v1/flows/${flow.id}/trigger`,
      headers: asSession(t, ada),
      payload: { input: 'y' },
    });
    expect(second.statusCode).toBe(202);
    await runJobs(t.app, FLOW_RUN_JOB);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB);
    expect(fresh.requests).toHaveLength(1);
    const secret = CreatedFlow.parse(changed.json()).callbackSecret!;
    const event = verifyWebhookSignature(
      fresh.requests[0]!.body,
      fresh.requests[0]!.headers['fleece-signature'],
      secret,
      { now: t.clock.now() },
    );
    expect(event.data.executionId).toBe(Execution.parse(second.json()).id);
  });

  it('stops the retry when the callback was removed', async () => {
    const { flow, run, old } = await setUp();
    expect((await patch(flow.id, null)).statusCode).toBe(200);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    expect(old.requests).toHaveLength(1);
    expect((await deliveries(run.id))[0]).toMatchObject({ attempt: 2, errorCode: 'callback_changed' });
  });

  it('keeps retrying to the same URL while it is unchanged', async () => {
    const { run, old } = await setUp();
    await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    expect(old.requests).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    const attempts = await deliveries(run.id);
    expect(attempts.map((d) => d.errorCode)).toEqual(Array(WEBHOOK_MAX_ATTEMPTS).fill('http_error'));
  });
});
