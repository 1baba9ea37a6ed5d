import { Agent, CreatedFlow } from '@fleece/sdk/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { asSession, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function agent(app: TestApp, user: TestUser, name: string): Promise<Agent> {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/v1/agents',
    headers: asSession(app, user),
    payload: { name, instructions: 'Answer briefly.' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return Agent.parse(res.json());
}

async function flow(app: TestApp, user: TestUser, name: string, agentIds: string[]): Promise<CreatedFlow> {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/v1/flows',
    headers: asSession(app, user),
    payload: { name, steps: agentIds.map((agentId, i) => ({ name: `s${i}`, agentId, input: '{{input}}' })) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return CreatedFlow.parse(res.json());
}

const remove = (app: TestApp, user: TestUser, id: string) =>
  app.app.inject({ method: 'DELETE', url: `/api/v1/agents/${id}`, headers: asSession(app, user) });

describe('DELETE /api/v1/agents/:id of an agent a flow uses', { timeout: 120_000 }, () => {
  it('answers 409 agent_in_use naming the flows, and deletes once they no longer use it', async () => {
    t = await buildTestApp();
    const user = await userOnPlan(t, 'flows@example.test', 'pro');
    const other = await userOnPlan(t, 'other@example.test', 'pro');
    const a = await agent(t, user, 'A');
    const b = await agent(t, user, 'B');
    const f1 = await flow(t, user, 'only A', [a.id]);
    const f2 = await flow(t, user, 'A then B', [a.id, b.id]);
    await flow(t, other, 'their own', [(await agent(t, other, 'C')).id]);

    const refused = await remove(t, user, a.id);
    expect(refused.statusCode).toBe(409);
    const problem = refused.json();
    expect(problem).toMatchObject({ status: 409, code: 'agent_in_use', title: 'Agent In Use' });
    expect(problem.detail).toMatch(new RegExp(`^Agent ${a.id} is used by 2 flows flw_\\w+, flw_\\w+\\. `));
    expect(
      problem.flows.toSorted((x: { id: string }, y: { id: string }) => x.id.localeCompare(y.id)),
    ).toEqual(
      [
        { id: f1.id, name: 'only A' },
        { id: f2.id, name: 'A then B' },
      ].toSorted((x, y) => x.id.localeCompare(y.id)),
    );
    const onlyB = (await remove(t, user, b.id)).json();
    expect(onlyB.flows).toEqual([{ id: f2.id, name: 'A then B' }]);
    expect(onlyB.detail).toBe(
      `Agent ${b.id} is used by flow ${f2.id}. Change their steps to another agent (PATCH /api/v1/flows/:id) or delete those flows, then delete the agent.`,
    );
    // Nothing was deleted or recorded.
    const kept = await t.app.inject({ url: `/api/v1/agents/${a.id}`, headers: { cookie: user.cookie } });
    expect(kept.statusCode).toBe(200);
    expect((await auditEvents(t)).filter((e) => e.action === 'agent.deleted')).toEqual([]);

    // Change f1 to B, delete f2: A is free.
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/flows/${f1.id}`,
      headers: asSession(t, user),
      payload: { steps: [{ name: 's0', agentId: b.id, input: '{{input}}' }] },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const gone = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/flows/${f2.id}`,
      headers: asSession(t, user),
    });
    expect(gone.statusCode).toBe(204);
    expect((await remove(t, user, a.id)).statusCode).toBe(204);
    expect((await remove(t, user, b.id)).json().flows).toEqual([{ id: f1.id, name: 'only A' }]);
    expect(
      (await auditEvents(t)).filter((e) => e.action === 'agent.deleted').map((e) => e.resource_id),
    ).toEqual([a.id]);
  });
});
