import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  agentBody,
  BASE_URL,
  executionBody,
  executionEvents,
  executionHandlers,
  sse,
  useMsw,
} from '../../../testkit/src/index.js';
import { NotFoundError, PermissionDeniedError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const AGENT = agentBody();

const EXECUTION = executionBody();

const STREAM = executionEvents();

describe('client.agents', () => {
  it('creates, lists, gets, updates and deletes agents', async () => {
    const seen: string[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/agents`, async ({ request }) => {
        seen.push(`POST ${JSON.stringify(await request.json())}`);
        return HttpResponse.json(AGENT, { status: 201 });
      }),
      http.get(`${BASE_URL}/api/v1/agents`, ({ request }) => {
        seen.push(`LIST ${new URL(request.url).search}`);
        return HttpResponse.json({ data: [AGENT], nextCursor: null });
      }),
      http.get(`${BASE_URL}/api/v1/agents/:id`, () => HttpResponse.json(AGENT)),
      http.patch(`${BASE_URL}/api/v1/agents/:id`, async ({ request }) => {
        seen.push(`PATCH ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ ...AGENT, temperature: 0.2 });
      }),
      http.delete(`${BASE_URL}/api/v1/agents/:id`, () => new HttpResponse(null, { status: 204 })),
    );
    const client = mswClient();
    await expect(client.agents.create({ name: 'triage', instructions: 'Label the issue.' })).resolves.toEqual(
      AGENT,
    );
    const all = [];
    for await (const agent of client.agents.list({ limit: 5 })) all.push(agent);
    expect(all).toEqual([AGENT]);
    await expect(client.agents.get(AGENT.id)).resolves.toEqual(AGENT);
    await expect(client.agents.update(AGENT.id, { temperature: 0.2 })).resolves.toMatchObject({
      temperature: 0.2,
    });
    await client.agents.delete(AGENT.id);
    expect(seen).toEqual([
      'POST {"name":"triage","instructions":"Label the issue."}',
      'LIST ?limit=5',
      'PATCH {"temperature":0.2}',
    ]);
  });

  it('rejects another user’s agent with NotFoundError and a used-up quota with PermissionDeniedError', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/agents/:id`, () => problem(404, 'not_found')),
      http.post(`${BASE_URL}/api/v1/agents/:id/execute`, () =>
        problem(403, 'plan_limit_reached', { upgrade: true, limit: 'executionsPerMonth' }),
      ),
    );
    const client = mswClient({ maxRetries: 0 });
    await expect(client.agents.get(AGENT.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.agents.execute(AGENT.id, { input: 'x' })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it('executes without streaming, with an Idempotency-Key on the request', async () => {
    let key: string | null = null;
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/agents/:id/execute`, async ({ request }) => {
        key = request.headers.get('idempotency-key');
        body = await request.json();
        return HttpResponse.json(EXECUTION, { status: 201 });
      }),
    );
    await expect(mswClient().agents.execute(AGENT.id, { input: 'Hello' })).resolves.toEqual(EXECUTION);
    expect(key).toMatch(/.+/);
    expect(body).toEqual({ input: 'Hello' });
  });

  it('streams an execution: typed events, text() and finalExecution()', async () => {
    let accept: string | null = null;
    server.use(
      http.post(`${BASE_URL}/api/v1/agents/:id/execute`, ({ request }) => {
        accept = request.headers.get('accept');
        return new HttpResponse(sse(STREAM), { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const client = mswClient();
    const stream = await client.agents.execute(AGENT.id, { input: 'Hello', stream: true });
    expect(accept).toBe('text/event-stream');
    await expect(stream.text()).resolves.toBe('Hi there.');
    await expect(stream.finalExecution()).resolves.toEqual(EXECUTION);

    const again = await client.agents.execute(AGENT.id, { input: 'Hello', stream: true });
    const events = [];
    for await (const event of again) events.push([event.id, event.event]);
    expect(events).toEqual(STREAM.map(([id, event]) => [String(id), event]));
  });
});

describe('client.executions', () => {
  it('lists with filters, gets and cancels', async () => {
    let search = '';
    server.use(
      ...executionHandlers(EXECUTION, (query) => {
        search = query;
      }),
    );
    const client = mswClient();
    const page = await client.executions.list({ agentId: AGENT.id, status: 'succeeded' });
    expect(page.data).toEqual([EXECUTION]);
    expect(search).toBe(`?agentId=${AGENT.id}&status=succeeded`);
    await expect(client.executions.get(EXECUTION.id)).resolves.toEqual(EXECUTION);
    await expect(client.executions.cancel(EXECUTION.id)).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('resumes a dropped event stream with Last-Event-ID, without gap or duplicate', async () => {
    const lastEventIds: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/executions/:id/events`, ({ request }) => {
        const last = request.headers.get('last-event-id');
        lastEventIds.push(last);
        // The first connection ends after event 2 (before done): the SDK must resume after it.
        const events = last === null ? STREAM.slice(0, 2) : STREAM.filter(([id]) => id > Number(last));
        return new HttpResponse(sse(events), { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const stream = await mswClient().executions.events(EXECUTION.id);
    const ids = [];
    for await (const event of stream) ids.push(event.id);
    expect(ids).toEqual(['1', '2', '3', '4', '5']);
    expect(lastEventIds).toEqual([null, '2']);
  });
});
