import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonCanonicalPath } from '../../src/lib/router.js';
import { type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { originOf } from '../helpers/identity.js';
import {
  type ApiOperation,
  apiOperations,
  type RawResponse,
  rawRequest,
  samplePath,
} from '../helpers/routes.js';

/**
 * Issue #16, defect 6: one response policy per route, whatever the spelling of its path. Every other
 * spelling of a route's path (doubled slashes, another case, a trailing slash, `.` and `..` segments,
 * percent-encoded letters) answers 404 problem+json before authentication, limits or parsing see it
 * (src/plugins/routing.ts), and the canonical spelling keeps the route's own policy. Requests go over a
 * socket, because `app.inject` resolves dot segments before the app sees them.
 */

/** A way to spell a path differently; `segment` picks which segment (modulo their number). */
type Respelling =
  | { kind: 'double-slash'; segment: number }
  | { kind: 'trailing-slash' }
  | { kind: 'upper-case'; segment: number }
  | { kind: 'dot'; segment: number }
  | { kind: 'dot-dot'; segment: number }
  | { kind: 'encoded-dot'; segment: number }
  | { kind: 'percent-encoded'; segment: number; char: number; upperHex: boolean };

/**
 * `path` respelled by `r`. Case changes touch only the template's fixed segments (a parameter in another
 * case is another id, not another spelling); every other respelling may touch any segment.
 */
function respell(path: string, template: string, r: Respelling): string {
  const segments = path.split('/').slice(1);
  const fixed = template
    .split('/')
    .slice(1)
    .map((s, i) => (s.startsWith('{') ? -1 : i))
    .filter((i) => i >= 0);
  const at = (n: number) => n % segments.length;
  const join = (s: string[]) => `/${s.join('/')}`;
  switch (r.kind) {
    case 'double-slash': {
      const i = at(r.segment);
      return join(segments.map((s, j) => (j === i ? `/${s}` : s)));
    }
    case 'trailing-slash':
      return `${path}/`;
    case 'upper-case': {
      const i = fixed[r.segment % fixed.length]!;
      return join(segments.map((s, j) => (j === i ? s.toUpperCase() : s)));
    }
    case 'dot':
      return join(segments.toSpliced(at(r.segment), 0, '.'));
    case 'dot-dot':
      return join(segments.toSpliced(at(r.segment), 0, 'x', '..'));
    case 'encoded-dot':
      return join(segments.toSpliced(at(r.segment), 0, r.segment % 2 ? '%2e' : '%2E%2e'));
    case 'percent-encoded': {
      const i = at(r.segment);
      const s = segments[i]!;
      // Any character outside the escapes already there (escaping a part of one would break it).
      const inEscape = new Set(
        [...s.matchAll(/%[0-9A-Fa-f]{2}/g)].flatMap((m) => [m.index, m.index + 1, m.index + 2]),
      );
      const candidates = [...s].flatMap((_, k) => (inEscape.has(k) ? [] : [k]));
      if (candidates.length === 0) return `${path}/`;
      const c = candidates[r.char % candidates.length]!;
      const hex = s.charCodeAt(c).toString(16).padStart(2, '0');
      const escaped = `%${r.upperHex ? hex.toUpperCase() : hex}`;
      return join(segments.map((x, j) => (j === i ? x.slice(0, c) + escaped + x.slice(c + 1) : x)));
    }
  }
}

const respelling: fc.Arbitrary<Respelling> = fc.oneof(
  fc.record({ kind: fc.constant('double-slash' as const), segment: fc.nat(20) }),
  fc.record({ kind: fc.constant('trailing-slash' as const) }),
  fc.record({ kind: fc.constant('upper-case' as const), segment: fc.nat(20) }),
  fc.record({ kind: fc.constant('dot' as const), segment: fc.nat(20) }),
  fc.record({ kind: fc.constant('dot-dot' as const), segment: fc.nat(20) }),
  fc.record({ kind: fc.constant('encoded-dot' as const), segment: fc.nat(20) }),
  fc.record({
    kind: fc.constant('percent-encoded' as const),
    segment: fc.nat(20),
    char: fc.nat(40),
    upperHex: fc.boolean(),
  }),
);

/** The respellings every operation is tried with (the generated ones combine them at random). */
const EVERY_KIND: Respelling[] = [
  { kind: 'double-slash', segment: 0 },
  { kind: 'double-slash', segment: 2 },
  { kind: 'trailing-slash' },
  { kind: 'upper-case', segment: 0 },
  { kind: 'upper-case', segment: 1 },
  { kind: 'dot', segment: 1 },
  { kind: 'dot-dot', segment: 2 },
  { kind: 'encoded-dot', segment: 1 },
  { kind: 'percent-encoded', segment: 0, char: 0, upperHex: false },
  { kind: 'percent-encoded', segment: 3, char: 1, upperHex: true },
];

describe('one response policy per route, whatever the spelling of its path (issue #16, defect 6)', () => {
  let t: TestApp;
  let user: TestUser;
  let operations: ApiOperation[];
  let session: Record<string, string>;

  beforeAll(async () => {
    t = await buildTestApp();
    user = await userOnPlan(t, 'spelling@example.test');
    session = { cookie: user.cookie, origin: originOf(t) };
    operations = await apiOperations(t);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => t.close());

  /** The session's request for `method path`, with an empty JSON object as body where one may go. */
  const send = (method: string, path: string): Promise<RawResponse> =>
    method === 'GET' || method === 'DELETE'
      ? rawRequest(t, method, path, session)
      : rawRequest(t, method, path, { ...session, 'content-type': 'application/json' }, '{}');

  /** Asserts the exact answer to a non-canonical spelling: 404 `not_found` problem+json, not cacheable. */
  function expectNotFound(res: RawResponse, label: string) {
    expect(res.status, `${label}: ${res.body}`).toBe(404);
    expect(res.headers['content-type'], label).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(res.body).code, label).toBe('not_found');
    expect(res.headers['cache-control'], label).toBe('no-store');
    // Nothing behind the routing step ran: no limit counted, no session cookie refreshed.
    expect(res.headers['x-ratelimit-limit'], label).toBeUndefined();
    expect(res.headers['set-cookie'], label).toBeUndefined();
  }

  it('regression: defect 6 — //api/v1/me, /API/v1/me and /Api/v1/api-keys with a session answer 404 with no-store, not 200 with the user’s data', async () => {
    for (const path of ['//api/v1/me', '/API/v1/me', '/Api/v1/api-keys', '/api/v1/me/', '/%61pi/v1/me']) {
      const res = await rawRequest(t, 'GET', path, { cookie: user.cookie });
      expectNotFound(res, path);
      expect(res.body).not.toContain(user.email);
      expect(res.body).not.toContain(user.userId);
    }
    // The canonical spelling still serves the user, not cacheable.
    const me = await rawRequest(t, 'GET', '/api/v1/me', { cookie: user.cookie });
    expect(me.status).toBe(200);
    expect(me.headers['cache-control']).toBe('no-store');
  });

  it('every operation of the OpenAPI document: its canonical path is routed and not cacheable; every respelling answers 404', async () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const op of operations) {
      const path = samplePath(op.template);
      // Without credentials, so that no canonical request changes anything; the route answers it itself.
      const canonical = await rawRequest(t, op.method, path, { origin: originOf(t) });
      const label = `${op.method} ${path}`;
      // API answers are never cached; the RFC 8414 metadata outside /api/ is public configuration.
      if (op.template.startsWith('/api/')) expect(canonical.headers['cache-control'], label).toBe('no-store');
      if (canonical.status === 404) expect(JSON.parse(canonical.body).detail, label).not.toMatch(/^No route/);
      if (op.secured) expect(canonical.status, label).toBe(401);
      for (const r of EVERY_KIND) {
        const spelled = respell(path, op.template, r);
        expect(spelled, label).not.toBe(path);
        expectNotFound(await send(op.method, spelled), `${op.method} ${spelled}`);
      }
    }
    // The session is intact: none of the respelled DELETEs and POSTs reached a route.
    expect((await rawRequest(t, 'GET', '/api/v1/me', { cookie: user.cookie })).status).toBe(200);
  });

  it('generated: any combination of respellings of any operation’s path answers 404 problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        fc.array(respelling, { minLength: 1, maxLength: 3 }),
        async (op, respellings) => {
          const path = respellings.reduce((p, r) => respell(p, op.template, r), samplePath(op.template));
          // Letter case is the router's to refuse (it is case-sensitive); every other respelling is caught
          // before routing.
          if (respellings.some((r) => r.kind !== 'upper-case'))
            expect(nonCanonicalPath(path), path).toBeDefined();
          expectNotFound(await send(op.method, path), `${op.method} ${path}`);
        },
      ),
      { numRuns: 300 },
    );
    expect((await rawRequest(t, 'GET', '/api/v1/me', { cookie: user.cookie })).status).toBe(200);
  });

  it('answers a target the router cannot decode (a malformed escape, an over-long segment) with a problem and every header', async () => {
    for (const [path, status, code] of [
      ['/api/v1/%zz', 400, 'bad_request'],
      ['/api/v1/agents/%', 400, 'bad_request'],
      ['/%E0%A4%A/api', 400, 'bad_request'],
      [`/api/v1/agents/agt_${'a'.repeat(200)}`, 414, 'uri_too_long'],
    ] as const) {
      const res = await rawRequest(t, 'GET', path, { cookie: user.cookie });
      expect(res.status, path).toBe(status);
      expect(res.headers['content-type'], path).toBe('application/problem+json; charset=utf-8');
      expect(JSON.parse(res.body).code, path).toBe(code);
      expect(res.headers['cache-control'], path).toBe('no-store');
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      expect(res.headers['x-request-id'], path).toBe(JSON.parse(res.body).requestId);
    }
  });

  it('calls a path canonical only when it is spelled once: RFC 3986 §6.2.2 normal form, single slashes', () => {
    for (const path of [
      '/',
      '/api/v1/me',
      '/api/v1/me?x=%61&y=//',
      '/api/v1/agents/a%2Fb',
      '/api/v1/x%C3%A9',
      '*',
    ]) {
      expect(nonCanonicalPath(path), path).toBeUndefined();
    }
    expect(nonCanonicalPath('/%61pi/v1/me')).toBe('a percent-encoded letter, digit or `-._~`');
    expect(nonCanonicalPath('/api/./v1')).toBe('a `.` or `..` segment');
    expect(nonCanonicalPath('/api/v1/..')).toBe('a `.` or `..` segment');
    expect(nonCanonicalPath('/api/v1/me/')).toBe('a trailing slash');
    expect(nonCanonicalPath('/api//v1/me')).toBe('a doubled slash');
  });
});
