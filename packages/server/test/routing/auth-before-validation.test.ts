import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/modules/api-keys/format.js';
import type { RouteGuard } from '../../src/plugins/auth.js';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import { bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { originOf } from '../helpers/identity.js';
import { type ApiOperation, apiOperations, samplePath } from '../helpers/routes.js';

/**
 * Issue #16, defect 9: authentication and authorisation come before anything about the request itself.
 * For every guarded operation of the OpenAPI document, a request without a valid credential answers 401,
 * and one whose credential may not call the route answers 403, whatever its body (any JSON, malformed JSON,
 * another content type, an oversized body), query or path parameters: never a 400/413/415 that describes
 * the route's schema to a caller who has not shown who it is.
 */

const BODY_LIMIT = 1024;

/** A guarded operation: its document entry and what its guard requires. */
interface Guarded extends ApiOperation {
  guard: RouteGuard;
}

/** A request body as sent: its bytes and content type, or none. */
interface Body {
  contentType?: string;
  payload?: string;
}

/** Anything a client might send as a body: valid JSON of any shape, broken JSON, other media types. */
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({}),
  fc.jsonValue().map((v) => ({ contentType: 'application/json', payload: JSON.stringify(v) ?? 'null' })),
  fc
    .string({ minLength: 1, maxLength: 200 })
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    })
    .map((payload) => ({ contentType: 'application/json', payload })),
  fc.record({
    contentType: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      'application/json; charset=latin1',
    ),
    payload: fc.string({ maxLength: 200 }),
  }),
  fc.jsonValue().map((v) => ({
    contentType: 'application/json',
    payload: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT), v }),
  })),
);

/** A query string of arbitrary names and values (empty half the time). */
const query = fc.option(
  fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
  {
    nil: undefined,
  },
);

/** A path parameter: a plausible id, or any string that is a single canonical path segment. */
const param = fc.option(
  fc
    .string({ minLength: 1, maxLength: 60 })
    .filter((s) => s !== '.' && s !== '..')
    .map(encodeURIComponent),
  { nil: undefined },
);

/** The unique client address of each request, so per-IP limits never answer before the guard does. */
let lastAddress = 0;
function nextAddress(): string {
  lastAddress += 1;
  return `10.${(lastAddress >> 16) & 255}.${(lastAddress >> 8) & 255}.${lastAddress & 255}`;
}

describe('401 before 400: guards run before the body is parsed or validated (issue #16, defect 9)', () => {
  let t: TestApp;
  let guarded: Guarded[];
  let member: TestUser;
  let fullKey: string;
  let readKey: string;
  /** Credentials that authenticate nobody, each with the problem code its 401 carries. */
  let invalid: { label: string; headers: Record<string, string>; code: string }[];

  beforeAll(async () => {
    // Limits answer before guards (429 → 401 → 403 → 400) and have their own tests: raised here so the
    // hundreds of requests of one signed-in caller meet the guards only.
    t = await buildTestApp({
      env: {
        FLEECE_BODY_LIMIT_BYTES: String(BODY_LIMIT),
        FLEECE_ROUTE_LIMITS: 'chat=100000,agentExecute=100000,flowTrigger=100000,dataExport=100000',
      },
    });
    // A browser token of a session that does not exist, then expired (the clock moves past its 15 min).
    const { token: expired } = await t.app.tokens.issueAccessToken('browser', 'usr_gone', 'ses_gone');
    t.clock.advance(16 * 60_000);
    // The cookie of a session that has ended (signed out).
    const leaver = await userOnPlan(t, 'leaver@example.test');
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie: leaver.cookie, origin: originOf(t) },
    });
    expect(logout.statusCode).toBe(204);
    member = await userOnPlan(t, 'member@example.test', 'enterprise');
    fullKey = (await createKey(t, member, { name: 'all' })).key;
    readKey = (await createKey(t, member, { name: 'read', scopes: ['read'] })).key;

    const unknownKey = generateApiKey().key;
    invalid = [
      { label: 'no credentials', headers: {}, code: 'unauthenticated' },
      {
        label: 'a bearer with spaces',
        headers: { authorization: 'Bearer not a token' },
        code: 'unauthenticated',
      },
      { label: 'an empty bearer', headers: { authorization: 'Bearer ' }, code: 'unauthenticated' },
      {
        label: 'Basic credentials',
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
        code: 'unauthenticated',
      },
      {
        label: 'a garbage JWT',
        headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' },
        code: 'unauthenticated',
      },
      { label: 'an unknown flc_ key', headers: bearer(unknownKey), code: 'invalid_api_key' },
      {
        label: 'an flc_ key with a bad checksum',
        headers: bearer(`${unknownKey.slice(0, -1)}0`),
        code: 'invalid_api_key',
      },
      {
        label: 'a garbage cookie',
        headers: { cookie: `${SESSION_COOKIE}=${randomBytes(24).toString('base64url')}` },
        code: 'unauthenticated',
      },
      {
        label: 'an expired cookie',
        headers: { cookie: `${SESSION_COOKIE}=${expired}` },
        code: 'unauthenticated',
      },
      { label: 'a signed-out cookie', headers: { cookie: leaver.cookie }, code: 'unauthenticated' },
    ];
    for (const c of invalid) if (c.headers.cookie) c.headers.origin = originOf(t);

    const operations = await apiOperations(t);
    const documented = new Set(operations.map((op) => `${op.method} ${op.route}`));
    // Every guarded route is in the document, and every operation the document secures has a guard.
    for (const key of t.app.routeGuards.keys()) {
      if (!key.startsWith('HEAD ')) expect(documented, key).toContain(key);
    }
    guarded = operations.flatMap((op) => {
      const guard = t.app.routeGuards.get(`${op.method} ${op.route}`);
      if (op.secured) expect(guard, `${op.method} ${op.route}`).toBeDefined();
      return guard ? [{ ...op, guard }] : [];
    });
  });
  afterAll(() => t.close());

  /** Sends `op` with `headers`, the body, query and path parameters given, from a fresh address. */
  function send(
    op: ApiOperation,
    headers: Record<string, string>,
    b: Body = {},
    q?: Record<string, string>,
    id?: string,
  ): Promise<LightMyRequestResponse> {
    const path = samplePath(op.template, id === undefined ? {} : { id, type: id, provider: id });
    const search = q ? new URLSearchParams(q).toString() : '';
    return t.app.inject({
      method: op.method as 'GET',
      url: search ? `${path}?${search}` : path,
      headers: { ...headers, ...(b.contentType ? { 'content-type': b.contentType } : {}) },
      ...(b.payload !== undefined ? { payload: b.payload } : {}),
      remoteAddress: nextAddress(),
    });
  }

  /** Asserts the exact refusal: `status` problem+json with `code`. */
  function expectRefused(res: LightMyRequestResponse, status: number, code: string, label: string) {
    expect(res.statusCode, `${label}: ${res.body}`).toBe(status);
    expect(res.headers['content-type'], label).toBe('application/problem+json; charset=utf-8');
    expect(res.json().code, label).toBe(code);
    if (status === 401) expect(res.headers['www-authenticate'], label).toMatch(/^Bearer/);
  }

  it('regression: defect 9 — unauthenticated POST /api/v1/api-keys and PATCH /api/v1/admin/users/:id with invalid bodies answer 401, not 400 describing the schema', async () => {
    const create = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', userId: 'usr_x' },
      remoteAddress: nextAddress(),
    });
    expectRefused(create, 401, 'unauthenticated', 'POST /api/v1/api-keys');
    const patch = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/admin/users/usr_x',
      payload: { plan: 'gold' },
      remoteAddress: nextAddress(),
    });
    expectRefused(patch, 401, 'unauthenticated', 'PATCH /api/v1/admin/users/usr_x');
    for (const res of [create, patch]) {
      expect(res.body).not.toMatch(/userId|plan|enterprise|errors/);
    }
    // A member (not an admin) learns nothing about the admin schema either.
    const asMember = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/admin/users/usr_x',
      headers: { cookie: member.cookie, origin: originOf(t) },
      payload: { plan: 'gold' },
    });
    expectRefused(asMember, 403, 'forbidden', 'member PATCH /api/v1/admin/users/usr_x');
    expect(asMember.body).not.toMatch(/enterprise|errors/);
  });

  it('every guarded operation answers 401 to every kind of invalid credential, with malformed JSON, a wrong content type and an oversized body', async () => {
    expect(guarded.length).toBeGreaterThan(40);
    const bodies: Body[] = [
      { contentType: 'application/json', payload: '{"name":' },
      { contentType: 'text/plain', payload: 'hello' },
      { contentType: 'application/x-www-form-urlencoded', payload: 'name=x&userId=usr_x' },
      { contentType: 'application/json', payload: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT * 2) }) },
      { contentType: 'application/json', payload: '{"unknown":true,"plan":"gold","limit":-1}' },
    ];
    for (const op of guarded) {
      for (const [i, c] of invalid.entries()) {
        const b = bodies[i % bodies.length]!;
        const res = await send(op, c.headers, b, { limit: 'many' }, 'not-an-id');
        expectRefused(res, 401, c.code, `${op.method} ${op.route} with ${c.label}, ${b.contentType}`);
      }
    }
  });

  it('generated: any body, query and path parameters with an invalid credential answer exactly 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...guarded),
        fc.nat(),
        body,
        query,
        param,
        async (op, pick, b, q, id) => {
          const c = invalid[pick % invalid.length]!;
          const res = await send(op, c.headers, b, q, id);
          expectRefused(res, 401, c.code, `${op.method} ${op.route} with ${c.label}`);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('generated: a credential that may not call the route answers exactly 403, whatever the request', async () => {
    const admin = guarded.filter((op) => op.guard.auth === 'admin');
    const sessionsOnly = guarded.filter((op) => !op.guard.apiKeys);
    const writes = guarded.filter((op) => op.guard.apiKeys && op.guard.scope !== 'read');
    expect(admin.length).toBeGreaterThanOrEqual(4);
    expect(sessionsOnly.length).toBeGreaterThanOrEqual(admin.length + 3);
    expect(writes.length).toBeGreaterThan(10);
    const cases = fc.oneof(
      // A member's session on an administration route.
      fc.record({
        op: fc.constantFrom(...admin),
        headers: fc.constant({ cookie: member.cookie, origin: originOf(t) }),
        code: fc.constant('forbidden'),
      }),
      // An API key with every scope on a route for sessions only.
      fc.record({
        op: fc.constantFrom(...sessionsOnly),
        headers: fc.constant(bearer(fullKey)),
        code: fc.constant('forbidden'),
      }),
      // A read-only API key on a route that needs another scope.
      fc.record({
        op: fc.constantFrom(...writes),
        headers: fc.constant(bearer(readKey)),
        code: fc.constant('insufficient_scope'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, body, query, param, async ({ op, headers, code }, b, q, id) => {
        const res = await send(op, headers, b, q, id);
        expectRefused(res, 403, code, `${op.method} ${op.route} (${code})`);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to register a route whose guard would run after parsing', async () => {
    const u = await buildTestApp();
    try {
      expect(() =>
        u.app.post('/api/v1/test/late-guard', { preHandler: u.app.requireAuth }, async () => ({ ok: true })),
      ).toThrow(/preParsing: app.requireAuth/);
      expect(() =>
        u.app.post('/api/v1/test/late-admin', { preValidation: [u.app.requireAdmin] }, async () => ({
          ok: true,
        })),
      ).toThrow(/not in `preValidation`/);
    } finally {
      await u.close();
    }
  });
});
