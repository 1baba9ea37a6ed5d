import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { signIn } from '../helpers/identity.js';

/**
 * The cross-tenant matrix (docs/security.md "Tenant isolation", claim C26). It walks every operation of the OpenAPI document
 * whose path takes a resource id (`{id}`, `{…Id}`), creates that resource as user A, and sends the same
 * request as user B: B must get the answer a missing id gets, byte for byte apart from the request id (and
 * the id itself where a message echoes it). A route with an id and no entry in {@link TARGETS} fails the
 * test: add its factory here when you add the route.
 */

interface Context {
  t: TestApp;
  a: TestUser;
  b: TestUser;
  admin: TestUser;
}

interface Target {
  /** Creates the resource as A (or whatever it needs) and returns the id to put in the path. */
  create(ctx: Context): Promise<string>;
  /** The JSON body to send. */
  body?: unknown;
  /** What B gets for A's id and for a missing one: 404, or 403 where the route is not B's at all (admin). */
  status?: number;
  /** Who owns the resource (the request that must still succeed afterwards); default A. */
  owner?: (ctx: Context) => TestUser;
}

async function json(res: LightMyRequestResponse, status: number[]): Promise<Record<string, unknown>> {
  expect(status, res.body).toContain(res.statusCode);
  return res.json();
}

async function createAgent({ t, a }: Context): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/agents',
    headers: asSession(t, a),
    payload: { name: 'matrix agent', instructions: 'Answer briefly.' },
  });
  return (await json(res, [201])).id as string;
}

async function createExecution(ctx: Context): Promise<string> {
  const agentId = await createAgent(ctx);
  const res = await ctx.t.app.inject({
    method: 'POST',
    url: `/api/v1/agents/${agentId}/execute`,
    headers: asSession(ctx.t, ctx.a),
    payload: { input: 'hello' },
  });
  return (await json(res, [200, 201])).id as string;
}

async function createFlow(ctx: Context): Promise<string> {
  const agentId = await createAgent(ctx);
  const res = await ctx.t.app.inject({
    method: 'POST',
    url: '/api/v1/flows',
    headers: asSession(ctx.t, ctx.a),
    payload: { name: 'matrix flow', steps: [{ name: 'only', agentId, input: '{{input}}' }] },
  });
  return (await json(res, [201])).id as string;
}

/** One entry per `METHOD path` of the OpenAPI document that takes a resource id. */
const TARGETS: Record<string, Target> = {
  'DELETE /api/v1/sessions/{id}': {
    async create({ t, a }) {
      await signIn(t, a.email);
      const list = await t.app.inject({ url: '/api/v1/sessions', headers: { cookie: a.cookie } });
      return (list.json().data as { id: string; current: boolean }[]).find((s) => !s.current)!.id;
    },
  },
  'DELETE /api/v1/api-keys/{id}': {
    create: async ({ t, a }) => (await createKey(t, a)).id,
  },
  'PATCH /api/v1/admin/users/{id}': {
    create: async ({ a }) => a.userId,
    body: { plan: 'business' },
    status: 403,
    owner: ({ admin }) => admin,
  },
  'GET /api/v1/agents/{id}': { create: createAgent },
  'PATCH /api/v1/agents/{id}': { create: createAgent, body: { name: 'renamed' } },
  'DELETE /api/v1/agents/{id}': { create: createAgent },
  'POST /api/v1/agents/{id}/execute': { create: createAgent, body: { input: 'hi' } },
  'GET /api/v1/flows/{id}': { create: createFlow },
  'PATCH /api/v1/flows/{id}': { create: createFlow, body: { name: 'renamed' } },
  'DELETE /api/v1/flows/{id}': { create: createFlow },
  'POST /api/v1/flows/{id}/trigger': { create: createFlow, body: { input: 'hi' } },
  'GET /api/v1/flows/{id}/executions': { create: createFlow },
  'GET /api/v1/executions/{id}': { create: createExecution },
  'GET /api/v1/executions/{id}/events': { create: createExecution },
  'POST /api/v1/executions/{id}/cancel': { create: createExecution },
  'GET /api/v1/executions/{id}/deliveries': { create: createExecution },
  'GET /api/v1/conversations/{id}': {
    async create({ t, a }) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: asSession(t, a),
        payload: { message: 'hello' },
      });
      return (await json(res, [200, 201])).conversationId as string;
    },
  },
  'GET /api/v1/conversations/{id}/stream': {
    // A streamed reply: its events are kept for a resume.
    async create({ t, a }) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: asSession(t, a),
        payload: { message: 'hello', stream: true },
      });
      return /"conversationId":"(cnv_[0-9a-z]+)"/.exec(res.body)![1]!;
    },
  },
  'DELETE /api/v1/conversations/{id}': {
    async create(ctx) {
      return TARGETS['GET /api/v1/conversations/{id}']!.create(ctx);
    },
  },
};

/** A resource id param: `id`, or a name ending in `Id`. */
const ID_PARAM = /\{(id|[A-Za-z]+Id)\}/;

/** `id` with its random part replaced: same prefix and length, but no such resource. */
function missingLike(id: string): string {
  const cut = id.indexOf('_') + 1;
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  let tail = '';
  for (let i = cut; i < id.length; i++) tail += alphabet[(alphabet.indexOf(id[i]!.toLowerCase()) + 7) % 36];
  return id.slice(0, cut) + tail;
}

/** The response as bytes to compare: status, headers (but the per-request ones) and body. */
function comparable(res: LightMyRequestResponse, id: string, placeholder: string) {
  const requestId = String(res.headers['x-request-id']);
  const headers = { ...res.headers };
  for (const name of [
    'x-request-id',
    'date',
    'content-length',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ]) {
    delete headers[name];
  }
  return {
    status: res.statusCode,
    headers,
    body: res.body.replaceAll(requestId, '<request id>').replaceAll(id, placeholder),
  };
}

describe('cross-tenant matrix: every route that takes a resource id (claim C26)', () => {
  let ctx: Context;
  let operations: { method: string; path: string }[];

  beforeAll(async () => {
    const t = await buildTestApp({ env: { FLEECE_ADMIN_EMAILS: 'admin@example.test' } });
    ctx = {
      t,
      a: await userOnPlan(t, 'a@example.test', 'business'),
      b: await userOnPlan(t, 'b@example.test', 'business'),
      admin: await userOnPlan(t, 'admin@example.test', 'business'),
    };
    const doc = (await t.app.inject('/api/v1/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(doc.paths)
      .filter(([path]) => ID_PARAM.test(path))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
  });
  afterAll(() => ctx.t.close());

  it('has a factory for every such route (a new route without one fails here)', () => {
    expect(operations.length).toBeGreaterThan(0);
    const missing = operations.map((o) => `${o.method} ${o.path}`).filter((key) => !TARGETS[key]);
    expect(
      missing,
      'Add these routes to TARGETS in test/tenant/cross-tenant.test.ts (and scope them by owner)',
    ).toEqual([]);
  });

  it("answers B's request for A's resource exactly as for a missing one, and leaves it alone", async () => {
    const { t, b } = ctx;
    for (const { method, path } of operations) {
      const key = `${method} ${path}`;
      const target = TARGETS[key];
      if (!target) continue; // reported by the test above
      const id = await target.create(ctx);
      const missing = missingLike(id);
      const send = (user: TestUser, value: string) =>
        t.app.inject({
          method: method as 'GET',
          url: path.replace(ID_PARAM, value),
          headers: method === 'GET' ? { cookie: user.cookie } : asSession(t, user),
          ...(target.body === undefined ? {} : { payload: target.body as Record<string, unknown> }),
        });
      const theirs = await send(b, id);
      const none = await send(b, missing);
      expect(theirs.statusCode, key).toBe(target.status ?? 404);
      expect(comparable(theirs, id, '<id>'), key).toEqual(comparable(none, missing, '<id>'));
      // The resource was real, and B's request did not touch it: its owner's request still succeeds.
      const owner = (target.owner ?? ((c: Context) => c.a))(ctx);
      const mine = await send(owner, id);
      expect(mine.statusCode, `${key} as its owner: ${mine.body}`).toBeLessThan(300);
    }
  });
});
