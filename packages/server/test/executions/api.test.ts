import { Execution, ExecutionPage } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { mockCompletion } from '../../src/modules/ai/providers/mock.js';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent as postAgent } from '../helpers/flows.js';
import { auditEvents } from '../helpers/identity.js';
import { GatedProvider } from '../helpers/providers.js';
import { SseClient } from '../helpers/sse.js';

/** One SSE event parsed from a whole response body. */
interface Parsed {
  id: string | undefined;
  event: string | undefined;
  json: unknown;
}

function parseSse(body: string): Parsed[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 2);
      }
      return { id: fields.id, event: fields.event, json: fields.data ? JSON.parse(fields.data) : undefined };
    });
}

describe('agents and executions (issue 6)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const createAgent = (user: TestUser, body: Record<string, unknown> = { name: 'Helper' }) =>
    postAgent(t, user, body);
  const execute = (
    user: TestUser,
    agentId: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agentId}/execute`,
      headers: { ...asSession(t, user), ...headers },
      payload: body,
    });
  const usage = async (userId: string) =>
    (
      await t.db.ownerQuery<{ count: number }>(
        "select count from usage_counters where user_id = $1 and metric = 'executions'",
        [userId],
      )
    )[0]?.count ?? 0;

  it('creates, lists, gets, updates and deletes agents, audited, within the plan’s agent count', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'free');
    const agent = await createAgent(ada, { name: 'Helper', instructions: 'Be brief.', temperature: 0.2 });
    expect(agent).toEqual({
      id: expect.stringMatching(/^agt_[0-9a-z]{24}$/),
      name: 'Helper',
      description: '',
      instructions: 'Be brief.',
      model: null,
      temperature: 0.2,
      maxOutputTokens: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    // Free allows one agent.
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/agents',
      headers: asSession(t, ada),
      payload: { name: 'Two' },
    });
    expect(second.statusCode).toBe(403);
    expect(second.json()).toMatchObject({
      code: 'plan_limit_reached',
      upgrade: true,
      limit: 'agents',
      max: 1,
    });

    const list = await t.app.inject({ url: '/api/v1/agents', headers: { cookie: ada.cookie } });
    expect(list.json()).toEqual({ data: [agent], nextCursor: null });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/agents/${agent.id}`,
      headers: asSession(t, ada),
      payload: { description: 'Answers briefly', maxOutputTokens: 50 },
    });
    expect(patched.json()).toEqual({ ...agent, description: 'Answers briefly', maxOutputTokens: 50 });
    const got = await t.app.inject({ url: `/api/v1/agents/${agent.id}`, headers: { cookie: ada.cookie } });
    expect(got.json()).toEqual(patched.json());
    const premium = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/agents/${agent.id}`,
      headers: asSession(t, ada),
      payload: { model: 'mock-premium' },
    });
    expect(premium.statusCode).toBe(403);
    expect(premium.json()).toMatchObject({ code: 'plan_limit_reached', limit: 'premiumModels' });
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/agents/${agent.id}`,
      headers: asSession(t, ada),
    });
    expect(deleted.statusCode).toBe(204);
    const gone = await t.app.inject({ url: `/api/v1/agents/${agent.id}`, headers: { cookie: ada.cookie } });
    expect(gone.statusCode).toBe(404);
    const actions = (await auditEvents(t)).map((e) => e.action).filter((a) => a.startsWith('agent.'));
    expect(actions).toEqual(['agent.created', 'agent.updated', 'agent.deleted']);
  });

  it('runs an agent on the mock provider end to end, and stores input and output encrypted', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada, { name: 'Helper', instructions: 'Be brief.' });
    const res = await execute(ada, agent.id, { input: 'What is Fleece?' });
    expect(res.statusCode, res.body).toBe(201);
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'What is Fleece?' },
    ];
    const expected = mockCompletion(messages, { model: 'mock' });
    const execution = Execution.parse(res.json());
    expect(execution).toEqual({
      id: expect.stringMatching(/^exe_[0-9a-z]{24}$/),
      agentId: agent.id,
      flowId: null,
      parentId: null,
      step: null,
      status: 'succeeded',
      model: 'mock',
      provider: 'mock',
      input: 'What is Fleece?',
      output: expected.chunks.join(''),
      usage: expected.usage,
      finishReason: 'stop',
      error: null,
      durationMs: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await usage(ada.userId)).toBe(1);
    const [row] = await t.db.ownerQuery<Record<string, unknown>>('select * from executions');
    expect(Buffer.from(row!.input as Uint8Array).includes('What is Fleece')).toBe(false);
    expect(Buffer.from(row!.output as Uint8Array).includes('Mock reply')).toBe(false);
    expect(row!.key_id).toBe(t.app.config.encryption.current.id);
    const events = await t.db.ownerQuery<{ data: Uint8Array }>('select data from execution_events');
    for (const e of events) expect(Buffer.from(e.data).includes('Mock')).toBe(false);
    const list = await t.app.inject({
      url: `/api/v1/executions?agentId=${agent.id}&status=succeeded`,
      headers: { cookie: ada.cookie },
    });
    expect(ExecutionPage.parse(list.json())).toEqual({ data: [execution], nextCursor: null });
    const none = await t.app.inject({
      url: '/api/v1/executions?status=failed',
      headers: { cookie: ada.cookie },
    });
    expect(none.json()).toEqual({ data: [], nextCursor: null });
    expect((await auditEvents(t)).map((e) => e.action)).toContain('agent.executed');
  });

  it('streams the exact event sequence, every event with an id, and replays it from Last-Event-ID', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const res = await execute(ada, agent.id, { input: 'Say hi', stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const chunks = mockCompletion([{ role: 'user', content: 'Say hi' }], { model: 'mock' }).chunks;
    const events = parseSse(res.body);
    const n = chunks.length;
    expect(events.map((e) => e.event)).toEqual([
      'execution.started',
      ...chunks.map(() => 'output.delta'),
      'execution.completed',
      'done',
    ]);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: n + 3 }, (_, i) => String(i + 1)));
    expect(events.slice(1, n + 1).map((e) => (e.json as { text: string }).text)).toEqual(chunks);
    const completed = Execution.parse(events[n + 1]!.json);
    expect(completed.status).toBe('succeeded');
    expect(events[n + 2]!.json).toEqual({ status: 'succeeded' });

    const replay = await t.app.inject({
      url: `/api/v1/executions/${completed.id}/events`,
      headers: { cookie: ada.cookie, 'last-event-id': '3' },
    });
    const resumed = parseSse(replay.body);
    // No gap, no duplicate: exactly the events after id 3.
    expect(resumed).toEqual(events.slice(3));
    const full = await t.app.inject({
      url: `/api/v1/executions/${completed.id}/events`,
      headers: { cookie: ada.cookie },
    });
    expect(parseSse(full.body)).toEqual(events);
  });

  it('resumes a live stream with Last-Event-ID while the execution runs: no gap, no duplicate', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const pending = execute(ada, agent.id, { input: 'long' });
    await provider.started;
    const id = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const first = await SseClient.open(`${url}/api/v1/executions/${id}/events`, { cookie: ada.cookie });
    await first.waitForEvents(2);
    first.close();
    const resumed = await SseClient.open(`${url}/api/v1/executions/${id}/events`, {
      cookie: ada.cookie,
      'last-event-id': first.events.at(-1)!.id!,
    });
    provider.release();
    await resumed.ended;
    await pending;
    expect([...first.events, ...resumed.events].map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
      ['3', 'output.delta'],
      ['4', 'execution.completed'],
      ['5', 'done'],
    ]);
    expect(resumed.events.filter((e) => e.event === 'output.delta').map((e) => e.json)).toEqual([
      { text: 'world.' },
    ]);
  });

  /** Opens the streaming execute of `agentId` over real HTTP. */
  const executeStream = async (user: TestUser, agentId: string, input: string) => {
    const url = await t!.app.listen({ host: '127.0.0.1', port: 0 });
    const live = await SseClient.open(
      `${url}/api/v1/agents/${agentId}/execute`,
      { ...asSession(t!, user), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ input, stream: true }) },
    );
    return { url, live };
  };
  const shape = (events: { id?: string; event?: string; json: unknown }[]) =>
    events.map((e) => ({ id: e.id, event: e.event, json: e.json }));

  it('lets a client switch from the live execute stream to replay with Last-Event-ID: same ids, no gap, no duplicate', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const { url, live } = await executeStream(ada, agent.id, 'long');
    // Served from the run in memory as produced (the delta may not be stored yet).
    await live.waitForEvents(2);
    const id = (live.events[0]!.json as { id: string }).id;
    live.close();
    // The client went away (the execution is cancelled); it comes back with the last id it saw.
    const replay = await SseClient.open(`${url}/api/v1/executions/${id}/events`, {
      cookie: ada.cookie,
      'last-event-id': live.events.at(-1)!.id!,
    });
    await replay.ended;
    expect([...live.events, ...replay.events].map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
      ['3', 'execution.cancelled'],
      ['4', 'done'],
    ]);
    // What the live stream sent is exactly what is stored under the same ids.
    const full = await SseClient.open(`${url}/api/v1/executions/${id}/events`, { cookie: ada.cookie });
    await full.ended;
    expect(shape(full.events)).toEqual(shape([...live.events, ...replay.events]));
    expect(live.events[1]!.json).toEqual({ text: 'Hello ' });
  });

  it('stores every event before execution.completed goes out, so a replay equals the live stream', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    provider.release();
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const { url, live } = await executeStream(ada, agent.id, 'short');
    await live.waitForEvents(4);
    expect(live.events[3]!.event).toBe('execution.completed');
    const id = (live.events[0]!.json as { id: string }).id;
    const stored = await t.db.ownerQuery<{ seq: number; type: string }>(
      'select seq, type from execution_events where execution_id = $1 and seq <= 4 order by seq',
      [id],
    );
    expect(stored.map((r) => [String(r.seq), r.type])).toEqual(
      live.events.slice(0, 4).map((e) => [e.id, e.event]),
    );
    await live.ended;
    const replay = await SseClient.open(`${url}/api/v1/executions/${id}/events`, { cookie: ada.cookie });
    await replay.ended;
    expect(shape(replay.events)).toEqual(shape(live.events));
    expect(live.events.map((e) => e.event)).toEqual([
      'execution.started',
      'output.delta',
      'output.delta',
      'execution.completed',
      'done',
    ]);
  });

  it('makes retries with one Idempotency-Key safe: same execution, one run, one quota unit', async () => {
    const provider = new GatedProvider();
    provider.release();
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const headers = { 'idempotency-key': 'retry-1' };
    const [a, b] = await Promise.all([
      execute(ada, agent.id, { input: 'once' }, headers),
      execute(ada, agent.id, { input: 'once' }, headers),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes).toEqual([200, 201]);
    expect(a.json().id).toBe(b.json().id);
    const again = await execute(ada, agent.id, { input: 'once' }, headers);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(Execution.parse(a.statusCode === 201 ? a.json() : b.json()));
    expect(provider.calls).toBe(1);
    expect(await usage(ada.userId)).toBe(1);
    const bad = await execute(ada, agent.id, { input: 'once' }, { 'idempotency-key': '' });
    expect(bad.statusCode).toBe(400);
    // The key names one request: reusing it for another input is refused, not answered with the first.
    const reused = await execute(ada, agent.id, { input: 'twice' }, headers);
    expect(reused.statusCode).toBe(400);
    expect(reused.json().errors).toEqual([
      { path: 'headers.idempotency-key', message: 'already used for a different request' },
    ]);
    expect(provider.calls).toBe(1);
    expect(await usage(ada.userId)).toBe(1);
  });

  it('counts the monthly quota exactly up to the limit under concurrency', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'enterprise');
    await t.db.ownerQuery(
      `insert into account_limits (user_id, limits, updated_at) values ($1, '{"executionsPerMonth": 3}', now())`,
      [ada.userId],
    );
    t.app.invalidations.afterCommit(`u:${ada.userId}`);
    const agent = await createAgent(ada);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => execute(ada, agent.id, { input: `n${i}` })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 201, 201, 403, 403, 403]);
    const refused = results.find((r) => r.statusCode === 403)!;
    expect(refused.json()).toMatchObject({ code: 'plan_limit_reached', limit: 'executionsPerMonth', max: 3 });
    expect(await usage(ada.userId)).toBe(3);
    const rows = await t.db.ownerQuery<{ n: number }>('select count(*)::int as n from executions');
    expect(rows[0]!.n).toBe(3);
  });

  it('shows executions only within the plan’s history retention (Free: 7 days)', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'free');
    const agent = await createAgent(ada);
    const { id } = (await execute(ada, agent.id, { input: 'old' })).json();
    // Age the row rather than the clock (the session would expire first).
    const age = (ms: number) =>
      t.db.ownerQuery('update executions set created_at = $1 where id = $2', [
        new Date(t.clock.now().getTime() - ms),
        id,
      ]);
    await age(7 * 86_400_000);
    const within = await t.app.inject({ url: `/api/v1/executions/${id}`, headers: { cookie: ada.cookie } });
    expect(within.statusCode).toBe(200);
    await age(7 * 86_400_000 + 1);
    const past = await t.app.inject({ url: `/api/v1/executions/${id}`, headers: { cookie: ada.cookie } });
    expect(past.statusCode).toBe(404);
    const list = await t.app.inject({ url: '/api/v1/executions', headers: { cookie: ada.cookie } });
    expect(list.json()).toEqual({ data: [], nextCursor: null });
  });

  it('limits execute to 10 a minute per user', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    for (let i = 0; i < 10; i++) expect((await execute(ada, agent.id, { input: 'x' })).statusCode).toBe(201);
    const limited = await execute(ada, agent.id, { input: 'x' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    expect(await usage(ada.userId)).toBe(10);
  });

  it('cancels a running execution through the cancel route: upstream aborted, status cancelled, audited', async () => {
    const provider = new GatedProvider();
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const pending = execute(ada, agent.id, { input: 'long' });
    await provider.started;
    const id = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/v1/executions/${id}/cancel`,
      headers: asSession(t, ada),
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ id, status: 'cancelled', output: null });
    const res = await pending;
    expect(res.json()).toMatchObject({ id, status: 'cancelled' });
    expect(provider.aborted).toBe(1);
    const events = parseSse(
      (await t.app.inject({ url: `/api/v1/executions/${id}/events`, headers: { cookie: ada.cookie } })).body,
    );
    expect(events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
      ['3', 'execution.cancelled'],
      ['4', 'done'],
    ]);
    const cancelled = (await auditEvents(t)).filter((e) => e.action === 'execution.cancelled');
    expect(cancelled).toHaveLength(1);
    // Cancelling again changes nothing.
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/v1/executions/${id}/cancel`,
      headers: asSession(t, ada),
    });
    expect(again.json()).toEqual(cancel.json());
    expect((await auditEvents(t)).filter((e) => e.action === 'execution.cancelled')).toHaveLength(1);
  });

  it('stops the provider call at the next delta when the row was cancelled elsewhere (another instance)', async () => {
    const provider = new GatedProvider('Hello ', 'world.');
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const pending = execute(ada, agent.id, { input: 'long' });
    await provider.started;
    const id = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    // Deltas are stored behind the stream: wait until the first one is.
    await t.app.executions.flushed(id);
    // What a cancel on another instance leaves behind: the row cancelled, the run here not told.
    await t.db.ownerQuery("update executions set status = 'cancelled' where id = $1", [id]);
    provider.release();
    const res = await pending;
    expect(res.json()).toMatchObject({ id, status: 'cancelled', output: null });
    const types = await t.db.ownerQuery<{ type: string }>(
      'select type from execution_events where execution_id = $1 order by seq',
      [id],
    );
    // The second delta was never stored, and nothing follows.
    expect(types.map((r) => r.type)).toEqual(['execution.started', 'output.delta']);
  });

  it('cancels the upstream call and the execution when the streaming client disconnects', async () => {
    const provider = new GatedProvider();
    t = await buildTestApp({ providers: { mock: provider } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const response = await fetch(`${url}/api/v1/agents/${agent.id}/execute`, {
      method: 'POST',
      headers: { ...asSession(t, ada), 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ input: 'long' }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await provider.started;
    const id = (await t.db.ownerQuery<{ id: string }>('select id from executions'))[0]!.id;
    // Follow the execution on a second stream, then drop the first.
    const follower = await SseClient.open(`${url}/api/v1/executions/${id}/events`, { cookie: ada.cookie });
    await follower.waitForEvents(2);
    controller.abort();
    await follower.ended;
    expect(follower.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'execution.started'],
      ['2', 'output.delta'],
      ['3', 'execution.cancelled'],
      ['4', 'done'],
    ]);
    expect(provider.aborted).toBe(1);
    const got = await t.app.inject({ url: `/api/v1/executions/${id}`, headers: { cookie: ada.cookie } });
    expect(got.json()).toMatchObject({ status: 'cancelled', output: null });
    const audited = (await auditEvents(t)).filter((e) => e.action === 'execution.cancelled');
    expect(audited).toHaveLength(1);
  });

  it('runs to the end over real HTTP without streaming (only a real disconnect cancels)', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const agent = await createAgent(ada);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${url}/api/v1/agents/${agent.id}/execute`, {
      method: 'POST',
      headers: { ...asSession(t, ada), 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'Hello' }),
    });
    expect(response.status).toBe(201);
    const execution = Execution.parse(await response.json());
    expect(execution.status).toBe('succeeded');
    expect(execution.output).toBe(
      mockCompletion([{ role: 'user', content: 'Hello' }], { model: 'mock' }).chunks.join(''),
    );
  });

  it('answers another user’s agent and execution with the same 404 as a missing one', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const agent = await createAgent(ada);
    const { id } = (await execute(ada, agent.id, { input: 'mine' })).json();
    const strip = (res: LightMyRequestResponse) => {
      const { requestId: _r, ...rest } = res.json();
      return [res.statusCode, rest];
    };
    const pairs: [string, string, string][] = [
      ['GET', `/api/v1/agents/${agent.id}`, '/api/v1/agents/agt_000000000000000000000000'],
      ['PATCH', `/api/v1/agents/${agent.id}`, '/api/v1/agents/agt_000000000000000000000000'],
      ['DELETE', `/api/v1/agents/${agent.id}`, '/api/v1/agents/agt_000000000000000000000000'],
      ['POST', `/api/v1/agents/${agent.id}/execute`, '/api/v1/agents/agt_000000000000000000000000/execute'],
      ['GET', `/api/v1/executions/${id}`, '/api/v1/executions/exe_000000000000000000000000'],
      ['GET', `/api/v1/executions/${id}/events`, '/api/v1/executions/exe_000000000000000000000000/events'],
      ['POST', `/api/v1/executions/${id}/cancel`, '/api/v1/executions/exe_000000000000000000000000/cancel'],
    ];
    for (const [method, theirs, missing] of pairs) {
      const payload =
        method === 'PATCH'
          ? { name: 'x' }
          : method === 'POST' && theirs.endsWith('execute')
            ? { input: 'x' }
            : undefined;
      const headers = asSession(t, bob);
      const a = await t.app.inject({ method: method as 'GET', url: theirs, headers, payload });
      const b = await t.app.inject({ method: method as 'GET', url: missing, headers, payload });
      expect(a.statusCode, `${method} ${theirs}`).toBe(404);
      expect(strip(a)).toEqual(strip(b));
    }
    const list = await t.app.inject({ url: '/api/v1/executions', headers: { cookie: bob.cookie } });
    expect(list.json()).toEqual({ data: [], nextCursor: null });
    // Ada's agent and execution are untouched.
    const mine = await t.app.inject({ url: `/api/v1/executions/${id}`, headers: { cookie: ada.cookie } });
    expect(mine.json().status).toBe('succeeded');
  });
});
