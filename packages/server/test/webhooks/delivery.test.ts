import {
  Execution,
  verifyWebhookSignature,
  WEBHOOK_RETRY_SCHEDULE_SECONDS,
  WebhookDeliveryPage,
  WebhookEvent,
  WebhookSignatureError,
} from '@fleece/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/lib/package.js';
import { WEBHOOK_DELIVER_JOB } from '../../src/modules/webhooks/service.js';
import { createSigningSecret } from '../../src/modules/webhooks/url.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent } from '../helpers/flows.js';
import { runJobs } from '../helpers/jobs.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * Webhook callbacks end to end on the real app and database (issue 6 "Webhook callbacks"): a finished run's
 * event is enqueued, the `webhook.deliver` job POSTs it signed to a real receiver on 127.0.0.1 (loopback is
 * allowed here explicitly, with FLEECE_WEBHOOK_ALLOW_LOOPBACK), the receiver verifies it with the SDK, and
 * every attempt is visible at GET /api/v1/executions/:id/deliveries. Time is the app's test clock; delayed
 * retries are run by `runJobs(…, { includeDelayed: true })`, never waited for.
 */
describe('webhook callbacks', () => {
  let t: TestApp;
  let ada: TestUser;
  let receiver: Receiver;
  let execution: Execution;
  const secret = createSigningSecret();

  beforeEach(async () => {
    t = await buildTestApp({ env: { FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' } });
    t.app.webhooks.useSigningSecrets(async (_tx, _userId, flowId) =>
      flowId === 'flw_webhooktest' ? secret : undefined,
    );
    ada = await userOnPlan(t, 'ada@example.com', 'pro');
    const agent = await createAgent(t, ada, { name: 'Helper' });
    const run = await t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agent.id}/execute`,
      headers: asSession(t, ada),
      payload: { input: 'Summarise the report.' },
    });
    expect(run.statusCode, run.body).toBe(201);
    execution = Execution.parse(run.json());
  });

  afterEach(async () => {
    await receiver?.close();
    await t.close();
  });

  /** Enqueues the event of `execution` as a finished run of flow flw_webhooktest calling `url`. */
  const enqueue = (url: string, flowId = 'flw_webhooktest') =>
    t.app.webhooks.enqueue(t.app.db, {
      userId: ada.userId,
      executionId: execution.id,
      flowId,
      status: execution.status,
      callbackUrl: url,
    });

  const deliveries = async (user = ada, id = execution.id) => {
    const res = await t.app.inject({
      url: `/api/v1/executions/${id}/deliveries`,
      headers: { cookie: user.cookie },
    });
    return res;
  };

  it('delivers a signed event that the receiver verifies with the SDK', async () => {
    const outcomes: string[] = [];
    receiver = await startReceiver((req, res) => {
      try {
        const event = verifyWebhookSignature(req.body, req.headers['fleece-signature'], secret, {
          now: t.clock.now(),
        });
        outcomes.push(`verified ${event.type}`);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"received":true}');
      } catch (error) {
        outcomes.push((error as WebhookSignatureError).code);
        res.writeHead(400).end();
      }
    });
    const eventId = await enqueue(`${receiver.origin}/fleece/hook?tenant=42`);
    expect(eventId).toMatch(/^whe_[0-9a-z]{24}$/);

    const ran = await runJobs(t.app, WEBHOOK_DELIVER_JOB);
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    expect(outcomes).toEqual(['verified flow.run.completed']);

    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/fleece/hook?tenant=42');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe(`Fleece-Webhooks/${VERSION}`);
    expect(request!.headers['idempotency-key']).toBe(eventId);
    expect(request!.headers['fleece-webhook-attempt']).toBe('1');
    const timestamp = Math.floor(t.clock.now().getTime() / 1000);
    expect(request!.headers['fleece-signature']).toMatch(new RegExp(`^t=${timestamp},v1=[0-9a-f]{64}$`));

    const event = WebhookEvent.parse(JSON.parse(request!.body.toString('utf8')));
    expect(event).toEqual({
      id: eventId,
      type: 'flow.run.completed',
      createdAt: '2026-01-01T00:00:00.000Z',
      data: {
        executionId: execution.id,
        flowId: 'flw_webhooktest',
        status: 'succeeded',
        output: execution.output,
        error: null,
        createdAt: execution.createdAt,
        startedAt: execution.startedAt,
        finishedAt: execution.finishedAt,
        durationMs: execution.durationMs,
      },
    });

    const res = await deliveries();
    expect(res.statusCode).toBe(200);
    expect(WebhookDeliveryPage.parse(res.json())).toEqual({
      data: [
        {
          id: expect.stringMatching(/^whd_[0-9a-z]{24}$/),
          eventId,
          eventType: 'flow.run.completed',
          executionId: execution.id,
          url: `${receiver.origin}/fleece/hook?tenant=42`,
          attempt: 1,
          outcome: 'succeeded',
          status: 200,
          errorCode: null,
          responseExcerpt: '{"received":true}',
          durationMs: expect.any(Number),
          attemptedAt: '2026-01-01T00:00:00.000Z',
          nextAttemptAt: null,
        },
      ],
      nextCursor: null,
    });
  });

  it('rejects, from the receiver side, a tampered body, a wrong secret and a stale timestamp', async () => {
    receiver = await startReceiver();
    await enqueue(`${receiver.origin}/hook`);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB);
    const { body, headers } = receiver.requests[0]!;
    const header = headers['fleece-signature'];
    const now = t.clock.now();
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(WebhookSignatureError);
        return (error as WebhookSignatureError).code;
      }
    };

    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now }))).toBe('accepted');
    const tampered = Buffer.from(body.toString('utf8').replace('"succeeded"', '"failed"'));
    expect(codeOf(() => verifyWebhookSignature(tampered, header, secret, { now }))).toBe(
      'signature_mismatch',
    );
    expect(codeOf(() => verifyWebhookSignature(body, header, createSigningSecret(), { now }))).toBe(
      'signature_mismatch',
    );
    const later = new Date(now.getTime() + 301_000);
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: later }))).toBe(
      'timestamp_outside_tolerance',
    );
    expect(codeOf(() => verifyWebhookSignature(body, undefined, secret, { now }))).toBe('missing_signature');
  });

  it('retries with backoff, each attempt recorded: 500, then 200 five seconds later', async () => {
    receiver = await startReceiver((_, res, index) => {
      if (index === 0) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('database is down');
      else res.writeHead(200).end('ok');
    });
    const eventId = await enqueue(`${receiver.origin}/hook`);

    expect((await runJobs(t.app, WEBHOOK_DELIVER_JOB)).map((j) => j.outcome)).toEqual(['completed']);
    let page = WebhookDeliveryPage.parse((await deliveries()).json());
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({
      attempt: 1,
      outcome: 'failed',
      status: 500,
      errorCode: 'http_error',
      responseExcerpt: 'database is down',
      attemptedAt: '2026-01-01T00:00:00.000Z',
      nextAttemptAt: '2026-01-01T00:00:05.000Z',
    });

    t.clock.advance(5_000);
    const ran = await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    page = WebhookDeliveryPage.parse((await deliveries()).json());
    expect(
      page.data.map((d) => [d.attempt, d.outcome, d.status, d.errorCode, d.attemptedAt, d.nextAttemptAt]),
    ).toEqual([
      [2, 'succeeded', 200, null, '2026-01-01T00:00:05.000Z', null],
      [1, 'failed', 500, 'http_error', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:05.000Z'],
    ]);

    // Both attempts carry the same event (and Idempotency-Key), each freshly signed.
    expect(receiver.requests.map((r) => r.headers['idempotency-key'])).toEqual([eventId, eventId]);
    expect(receiver.requests.map((r) => r.headers['fleece-webhook-attempt'])).toEqual(['1', '2']);
    expect(receiver.requests[0]!.body.equals(receiver.requests[1]!.body)).toBe(true);
    expect(receiver.requests[1]!.headers['fleece-signature']).toMatch(/^t=1767225605,/);
    for (const r of receiver.requests) {
      expect(
        verifyWebhookSignature(r.body, r.headers['fleece-signature'], secret, { now: t.clock.now() }).id,
      ).toBe(eventId);
    }
  });

  it('gives up after 8 attempts on the documented schedule, and pages the attempts', async () => {
    receiver = await startReceiver((_, res) => {
      res.writeHead(503).end();
    });
    await enqueue(`${receiver.origin}/hook`);
    const ran = await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    expect(ran).toHaveLength(8);
    expect(receiver.requests).toHaveLength(8);

    const first = WebhookDeliveryPage.parse(
      (
        await t.app.inject({
          url: `/api/v1/executions/${execution.id}/deliveries?limit=5`,
          headers: { cookie: ada.cookie },
        })
      ).json(),
    );
    expect(first.data.map((d) => d.attempt)).toEqual([8, 7, 6, 5, 4]);
    expect(first.nextCursor).not.toBeNull();
    const second = WebhookDeliveryPage.parse(
      (
        await t.app.inject({
          url: `/api/v1/executions/${execution.id}/deliveries?limit=5&cursor=${first.nextCursor}`,
          headers: { cookie: ada.cookie },
        })
      ).json(),
    );
    expect(second.data.map((d) => d.attempt)).toEqual([3, 2, 1]);
    expect(second.nextCursor).toBeNull();

    const all = [...second.data].reverse().concat([...first.data].reverse());
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    expect(all.map((d) => (d.nextAttemptAt ? (Date.parse(d.nextAttemptAt) - start) / 1000 : null))).toEqual([
      ...WEBHOOK_RETRY_SCHEDULE_SECONDS,
      null,
    ]);
    expect(all.every((d) => d.outcome === 'failed' && d.status === 503)).toBe(true);
  });

  it('records a URL that fails the checks at delivery, without sending or retrying', async () => {
    receiver = await startReceiver();
    await enqueue(`http://[::ffff:127.0.0.1]:${receiver.port}/hook`);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    const page = WebhookDeliveryPage.parse((await deliveries()).json());
    expect(page.data.map((d) => [d.attempt, d.outcome, d.status, d.errorCode, d.nextAttemptAt])).toEqual([
      [1, 'failed', null, 'invalid_callback_url', null],
    ]);
    expect(receiver.requests).toHaveLength(0);
  });

  it('stops when the flow (and its signing secret) is gone', async () => {
    receiver = await startReceiver();
    await enqueue(`${receiver.origin}/hook`, 'flw_deleted');
    await runJobs(t.app, WEBHOOK_DELIVER_JOB, { includeDelayed: true });
    const page = WebhookDeliveryPage.parse((await deliveries()).json());
    expect(page.data.map((d) => [d.attempt, d.errorCode, d.nextAttemptAt])).toEqual([
      [1, 'flow_unavailable', null],
    ]);
    expect(receiver.requests).toHaveLength(0);
  });

  it("answers 404 for another user's execution and a missing one, and an empty list without callbacks", async () => {
    const bob = await userOnPlan(t, 'bob@example.com', 'pro');
    receiver = await startReceiver();
    await enqueue(`${receiver.origin}/hook`);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB);

    const theirs = await deliveries(bob);
    const missing = await deliveries(bob, 'exe_000000000000000000000000');
    expect(theirs.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(theirs.json().code).toBe('not_found');
    expect({ ...theirs.json(), requestId: null, instance: null }).toEqual({
      ...missing.json(),
      requestId: null,
      instance: null,
    });
    expect((await deliveries()).json().data).toHaveLength(1);

    const bad = await t.app.inject({
      url: `/api/v1/executions/${execution.id}/deliveries?cursor=nonsense`,
      headers: { cookie: ada.cookie },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_cursor');
  });

  it('never logs the secret, the payload or the URL path', async () => {
    receiver = await startReceiver((_, res) => {
      res.writeHead(500).end('secret-looking body');
    });
    await enqueue(`${receiver.origin}/private-path?token=abc`);
    await runJobs(t.app, WEBHOOK_DELIVER_JOB);
    const attempt = t.logs.records().find((r) => r.msg === 'webhook delivery attempt');
    expect(attempt?.webhook).toMatchObject({
      executionId: execution.id,
      attempt: 1,
      host: `127.0.0.1:${receiver.port}`,
      outcome: 'failed',
      status: 500,
      errorCode: 'http_error',
    });
    expect(t.logs.text).not.toContain(secret);
    expect(t.logs.text).not.toContain('private-path');
    expect(t.logs.text).not.toContain('token=abc');
    expect(t.logs.text).not.toContain('secret-looking body');
    expect(t.logs.text).not.toContain(execution.output!);
  });
});
