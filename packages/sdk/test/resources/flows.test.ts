import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  AGENT_ID,
  BASE_URL,
  driveClock,
  flowBody,
  flowRunBody,
  observeSleeps,
  restoreClockAfterEach,
  useFakeClock,
  useMsw,
} from '../../../testkit/src/index.js';
import { BadRequestError, ConflictError, NotFoundError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();
restoreClockAfterEach();

const STEPS = [
  { name: 'draft', agentId: AGENT_ID, input: 'Draft: {{input}}' },
  { name: 'polish', agentId: AGENT_ID, input: 'Polish: {{steps.draft.output}}' },
];
const FLOW = flowBody({
  steps: STEPS,
  schedule: '0 6 * * 1-5',
  scheduleInput: 'morning',
  callbackUrl: 'https://example.com/hook',
  hasCallbackSecret: true,
});
const RUN = flowRunBody({ input: 'Summarise' });

describe('client.flows', () => {
  it('creates (secret once), lists, gets, updates and deletes flows', async () => {
    const seen: string[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/flows`, async ({ request }) => {
        seen.push(`POST ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ ...FLOW, callbackSecret: 'whsec_abc' }, { status: 201 });
      }),
      http.get(`${BASE_URL}/api/v1/flows`, ({ request }) => {
        seen.push(`LIST ${new URL(request.url).search}`);
        return HttpResponse.json({ data: [FLOW], nextCursor: null });
      }),
      http.get(`${BASE_URL}/api/v1/flows/:id`, ({ params }) => {
        seen.push(`GET ${params.id}`);
        return HttpResponse.json(FLOW);
      }),
      http.patch(`${BASE_URL}/api/v1/flows/:id`, async ({ request }) => {
        seen.push(`PATCH ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ ...FLOW, schedule: null });
      }),
      http.delete(`${BASE_URL}/api/v1/flows/:id`, () => new HttpResponse(null, { status: 204 })),
    );
    const client = mswClient();
    const created = await client.flows.create({
      name: 'review',
      steps: STEPS,
      schedule: '0 6 * * 1-5',
      callbackUrl: 'https://example.com/hook',
    });
    expect(created).toEqual({ ...FLOW, callbackSecret: 'whsec_abc' });
    const all = [];
    for await (const flow of client.flows.list({ limit: 5 })) all.push(flow);
    expect(all).toEqual([FLOW]);
    await expect(client.flows.get(FLOW.id)).resolves.toEqual(FLOW);
    await expect(client.flows.update(FLOW.id, { schedule: null })).resolves.toMatchObject({ schedule: null });
    await client.flows.delete(FLOW.id);
    expect(seen).toEqual([
      `POST ${JSON.stringify({ name: 'review', steps: STEPS, schedule: '0 6 * * 1-5', callbackUrl: 'https://example.com/hook' })}`,
      'LIST ?limit=5',
      `GET ${FLOW.id}`,
      'PATCH {"schedule":null}',
    ]);
  });

  it('triggers a run (202) and lists runs as pages', async () => {
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/:id/trigger`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(RUN, { status: 202 });
      }),
      http.get(`${BASE_URL}/api/v1/flows/:id/executions`, ({ request }) => {
        const cursor = new URL(request.url).searchParams.get('cursor');
        return HttpResponse.json(
          cursor
            ? { data: [{ ...RUN, id: 'exe_zzzzzzzzzzzzzzzzzzzzzzzz' }], nextCursor: null }
            : { data: [RUN], nextCursor: 'next' },
        );
      }),
    );
    const client = mswClient();
    await expect(client.flows.trigger(FLOW.id, { input: 'Summarise' })).resolves.toEqual(RUN);
    expect(body).toEqual({ input: 'Summarise' });
    const ids = [];
    for await (const run of client.flows.executions(FLOW.id)) ids.push(run.id);
    expect(ids).toEqual([RUN.id, 'exe_zzzzzzzzzzzzzzzzzzzzzzzz']);
  });

  it('retries a trigger with the same Idempotency-Key and resolves with the run the server replays (200)', async () => {
    useFakeClock();
    const sleeps = observeSleeps();
    const keys: Array<string | null> = [];
    const answers = [
      () => problem(503, 'service_unavailable'),
      () => HttpResponse.error(),
      () => HttpResponse.json({ ...RUN, status: 'running' }, { status: 200 }),
      () => HttpResponse.json(RUN, { status: 202 }),
    ];
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/:id/trigger`, ({ request }) => {
        keys.push(request.headers.get('idempotency-key'));
        return answers[keys.length - 1]!();
      }),
    );
    const client = mswClient();
    await expect(driveClock(client.flows.trigger(FLOW.id, { input: 'Summarise' }), sleeps)).resolves.toEqual({
      ...RUN,
      status: 'running',
    });
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys).toEqual([keys[0], keys[0], keys[0]]);
    expect(sleeps.delays).toHaveLength(2);

    await driveClock(client.flows.trigger(FLOW.id, { input: 'Again' }, { idempotencyKey: 'mine-1' }), sleeps);
    expect(keys.slice(3)).toEqual(['mine-1']);
  });

  it('throws ConflictError for a running flow without retrying, and typed errors for bad flows', async () => {
    let triggers = 0;
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/:id/trigger`, () => {
        triggers++;
        return problem(409, 'flow_already_running', { executionId: RUN.id });
      }),
      http.post(`${BASE_URL}/api/v1/flows`, () =>
        problem(400, 'validation_failed', {
          errors: [{ path: 'steps[1].input', message: 'step "polish" refers to {{steps.nope.output}}' }],
        }),
      ),
      http.get(`${BASE_URL}/api/v1/flows/:id`, () => problem(404, 'not_found')),
    );
    const client = mswClient();
    const conflict = await client.flows.trigger(FLOW.id, { input: 'x' }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).body).toMatchObject({
      code: 'flow_already_running',
      executionId: RUN.id,
    });
    expect(triggers).toBe(1);
    await expect(client.flows.create({ name: 'x', steps: STEPS })).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.flows.get(FLOW.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
