import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isSameOriginPath,
  parseLoopbackRedirect,
  safeReturnTo,
} from '../../src/modules/identity/redirects.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';
import {
  KNOWN_PAYLOADS,
  redirectPayload,
  safePath,
  safePiece,
  staysOn,
} from '../helpers/redirect-payloads.js';

const ORIGIN = 'https://fleece.example';

describe('returnTo validation (claim C7)', () => {
  it.each([
    ['a missing value', undefined, '/'],
    ['an empty value', '', '/'],
    ['a path', '/ok/path?x=1', '/ok/path?x=1'],
    ['a path with a fragment', '/settings#keys', '/settings#keys'],
    ['the root', '/', '/'],
    ['a device page with its code', '/device?user_code=WDJB-MJHT', '/device?user_code=WDJB-MJHT'],
  ])('accepts %s', (_label, value, path) => {
    expect(safeReturnTo(value, ORIGIN)).toEqual({ path, blocked: false });
  });

  it.each([
    ['a protocol-relative URL', '//evil.test'],
    ['a backslash host', '/\\evil.test'],
    ['an absolute URL', 'https://evil.test'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a look-alike of our host', 'https://fleece.example.evil.test'],
    ['our own origin as an absolute URL', 'https://fleece.example/settings'],
    ['an encoded protocol-relative path', '/%2F%2Fevil.test'],
    ['an encoded backslash', '/%5Cevil.test'],
    ['a backslash later in the path', '/ok\\..\\evil'],
    ['a tab before the slashes', '\t//evil.test'],
    ['a newline inside', '/ok\n//evil.test'],
    ['a NUL inside', '/ok\u0000'],
    ['a triple slash', '///evil.test'],
    ['a relative path', 'evil.test/path'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['an over-long path', `/${'a'.repeat(2048)}`],
    ['broken percent-encoding', '/%E0%A4%A'],
  ])('refuses %s and falls back to /', (_label, value) => {
    expect(safeReturnTo(value, ORIGIN)).toEqual({ path: '/', blocked: true });
  });
});

/** Pages a returned path may be resolved against: a link on them, or a `Location` answering them. */
const BASES = [
  ORIGIN,
  `${ORIGIN}/login?returnTo=%2Fx`,
  `${ORIGIN}/cli/authorize?state=x`,
  `${ORIGIN}/api/auth/oauth/github/callback?code=c`,
  `${ORIGIN}/a/b/c/`,
];

/** Generated open-redirect payloads tried against the rule as a unit (claim C7). */
const GENERATED_UNIT_RUNS = 20_000;

describe('the one redirect rule, on generated payloads (claim C7)', () => {
  /** What must hold of whatever safeReturnTo returns for `value`. */
  function expectSafe(value: string) {
    const { path, blocked } = safeReturnTo(value, ORIGIN);
    // The string returned is the string checked: validating it again changes nothing.
    expect(isSameOriginPath(path, ORIGIN), JSON.stringify(value)).toBe(true);
    expect(safeReturnTo(path, ORIGIN)).toEqual({ path, blocked: false });
    // Resolved by the WHATWG URL parser, as a browser resolves an href or a Location, from any of our pages.
    for (const base of BASES)
      expect(staysOn(ORIGIN, path, base), `${JSON.stringify(value)} on ${base}`).toBe(true);
    const url = new URL(path, ORIGIN);
    expect(`${url.pathname}${url.search}${url.hash}`).toBe(path);
    if (blocked) expect(path).toBe('/');
  }

  it.each(KNOWN_PAYLOADS.map((p) => [JSON.stringify(p), p]))('keeps %s on the origin', (_label, value) => {
    expectSafe(value);
  });

  it(`keeps every generated payload on the origin, and returns exactly what it checked (${GENERATED_UNIT_RUNS} payloads)`, () => {
    fc.assert(
      fc.property(redirectPayload, (value) => {
        expectSafe(value);
        // Percent-encoded once more, as a careless page or proxy might pass it on.
        expectSafe(`/${encodeURIComponent(value)}`);
      }),
      { numRuns: GENERATED_UNIT_RUNS },
    );
  });

  it('accepts a path of safe pieces unchanged, with any safe query and fragment', () => {
    fc.assert(
      fc.property(safePath, fc.option(safePiece), fc.option(safePiece), (path, query, fragment) => {
        const value = `${path}${query ? `?q=${query}` : ''}${fragment ? `#${fragment}` : ''}`;
        expect(safeReturnTo(value, ORIGIN)).toEqual({ path: value, blocked: false });
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['/.//evil.test'],
    ['/x/..//evil.test'],
    ['/%2e//evil.test'],
    ['/././/evil.test'],
    ['/%2E%2E//evil.test'],
    ['/a/b/../..//evil.test'],
  ])('regression: a dot-segment returnTo cannot normalise to a protocol-relative redirect (%s)', (value) => {
    expect(safeReturnTo(value, ORIGIN)).toEqual({ path: '/', blocked: true });
  });

  it('normalises a harmless dot segment to the path it names', () => {
    expect(safeReturnTo('/a/./b/../settings?x=1#y', ORIGIN)).toEqual({
      path: '/a/settings?x=1#y',
      blocked: false,
    });
    expect(safeReturnTo('/caf\u00e9', ORIGIN)).toEqual({ path: '/caf%C3%A9', blocked: false });
  });
});

describe('loopback redirect URIs (RFC 8252 §7.3)', () => {
  it.each([
    'http://127.0.0.1:53682/callback',
    'http://127.0.0.1:1/callback',
    'http://[::1]:8080/callback',
    'http://127.0.0.1:65535/',
  ])('accepts %s', (uri) => {
    expect(parseLoopbackRedirect(uri)?.uri).toBe(uri);
  });

  it.each([
    ['localhost', 'http://localhost:53682/callback'],
    ['another host', 'http://evil.test:53682/callback'],
    ['https', 'https://127.0.0.1:53682/callback'],
    ['no port', 'http://127.0.0.1/callback'],
    ['another loopback address', 'http://127.0.0.2:53682/callback'],
    ['a shortened IPv4 literal', 'http://127.1:53682/callback'],
    ['user info', 'http://user@127.0.0.1:53682/callback'],
    ['a fragment', 'http://127.0.0.1:53682/callback#x'],
    ['a host that starts with the loopback address', 'http://127.0.0.1.evil.test:53682/callback'],
    ['a backslash', 'http://127.0.0.1:53682\\@evil.test/'],
    ['no path', 'http://127.0.0.1:53682'],
  ])('refuses %s', (_label, uri) => {
    expect(parseLoopbackRedirect(uri)).toBeUndefined();
  });
});

describe('blocked redirects over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('records security.redirect_blocked and still answers 202 for a magic link with an evil returnTo', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link',
      payload: { email: 'redirect@example.test', returnTo: '//evil.test' },
      remoteAddress: '10.9.9.9',
    });
    expect(res.statusCode).toBe(202);
    const blocked = (await auditEvents(t)).filter((e) => e.action === 'security.redirect_blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      outcome: 'denied',
      metadata: { parameter: 'returnTo', value: '//evil.test' },
    });
  });
});
