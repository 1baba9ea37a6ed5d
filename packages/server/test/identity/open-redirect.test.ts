import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAUTH_STATE_COOKIE } from '../../src/modules/identity/auth.routes.js';
import { isSameOriginPath, safeReturnTo } from '../../src/modules/identity/redirects.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, lastMagicLink, originOf, pkce, setCookie } from '../helpers/identity.js';
import { KNOWN_PAYLOADS, redirectPayload, staysOn } from '../helpers/redirect-payloads.js';

const PUBLIC_URL = 'https://fleece.example';

/** Generated payloads per endpoint (on each database): a few dozen requests a second on PGlite. */
const RUNS = { magicLink: 40, oauthStart: 120, cliAuthorize: 120, returnTo: 120 } as const;

// Open-redirect payloads sent through every server endpoint that takes a return address (claim C7):
// whatever comes back (a redirectTo, a Location, the returnTo of a Location) stays on our origin and is
// exactly what the one rule (safeReturnTo) makes of the payload.
describe('open-redirect payloads over HTTP (claim C7)', () => {
  let t: TestApp;
  let n = 0;
  /** A client address of its own for each request, so the per-IP auth limits never interfere. */
  const nextAddress = () => {
    n += 1;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
  const withKnown = (arbitrary: fc.Arbitrary<string>) =>
    fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...KNOWN_PAYLOADS) }, { weight: 4, arbitrary });

  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        FLEECE_PUBLIC_URL: PUBLIC_URL,
        FLEECE_GITHUB_CLIENT_ID: 'gh-client',
        FLEECE_GITHUB_CLIENT_SECRET: 'gh-secret',
      },
    });
  });
  afterAll(() => t.close());

  /**
   * A payload with a NUL character is refused as input before any redirect rule runs (400 `validation_failed`
   * naming the field, src/plugins/errors.ts `refuseNul`): no Location, nothing stored. Returns whether it was.
   */
  function refusedAsInput(
    payload: string,
    res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  ): boolean {
    if (!payload.includes('\u0000')) return false;
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect((res.json() as { code: string }).code).toBe('validation_failed');
    return true;
  }

  /** Asks for a magic link with `returnTo`, uses it, and returns the `redirectTo` of the answer. */
  async function magicLinkRedirect(returnTo: string, email: string): Promise<string | undefined> {
    const requested = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link',
      payload: { email, returnTo },
      remoteAddress: nextAddress(),
    });
    if (refusedAsInput(returnTo, requested)) return undefined;
    expect(requested.statusCode).toBe(202);
    const token = new URL(lastMagicLink(t)).searchParams.get('token')!;
    const verified = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link/verify',
      headers: { origin: originOf(t) },
      payload: { token },
      remoteAddress: nextAddress(),
    });
    expect(verified.statusCode).toBe(200);
    return verified.json().redirectTo;
  }

  it(`magic link: request + verify answer a same-origin redirectTo (${RUNS.magicLink} generated payloads)`, async () => {
    await fc.assert(
      fc.asyncProperty(withKnown(redirectPayload), async (payload) => {
        const redirectTo = await magicLinkRedirect(payload, `r${n}@example.test`);
        if (redirectTo === undefined) return;
        expect(redirectTo).toBe(safeReturnTo(payload, PUBLIC_URL).path);
        expect(isSameOriginPath(redirectTo, PUBLIC_URL)).toBe(true);
        expect(staysOn(PUBLIC_URL, redirectTo, `${PUBLIC_URL}/login/magic`)).toBe(true);
      }),
      { numRuns: RUNS.magicLink },
    );
  });

  it.each(['/.//evil.test', '/x/..//evil.test', '/%2e//evil.test', '/././/evil.test'])(
    'regression: a dot-segment returnTo cannot normalise to a protocol-relative redirect (%s, magic link)',
    async (payload) => {
      const before = (await auditEvents(t)).filter((e) => e.action === 'security.redirect_blocked').length;
      const email = `dot${n}@example.test`;
      expect(await magicLinkRedirect(payload, email)).toBe('/');
      const blocked = (await auditEvents(t)).filter((e) => e.action === 'security.redirect_blocked');
      expect(blocked).toHaveLength(before + 1);
      expect(blocked.at(-1)).toMatchObject({
        outcome: 'denied',
        metadata: { parameter: 'returnTo', value: payload },
      });
      const stored = await t.db.ownerQuery<{ return_to: string }>(
        'select return_to from magic_link_tokens where email = $1',
        [email],
      );
      expect(stored).toEqual([{ return_to: '/' }]);
    },
  );

  it('regression: a magic link stored with a protocol-relative returnTo before the fix answers / on verify', async () => {
    const requested = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link',
      payload: { email: 'stale@example.test', returnTo: '/settings' },
      remoteAddress: nextAddress(),
    });
    expect(requested.statusCode).toBe(202);
    const token = new URL(lastMagicLink(t)).searchParams.get('token')!;
    await t.db.ownerQuery(
      `update magic_link_tokens set return_to = '//evil.test' where email = 'stale@example.test'`,
    );
    const verified = await t.app.inject({
      method: 'POST',
      url: '/api/auth/magic-link/verify',
      headers: { origin: originOf(t) },
      payload: { token },
      remoteAddress: nextAddress(),
    });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({ redirectTo: '/' });
  });

  it(`OAuth start: the provider is the only place sent to, and the returnTo kept for the callback is same-origin (${RUNS.oauthStart} generated payloads)`, async () => {
    await fc.assert(
      fc.asyncProperty(withKnown(redirectPayload), async (payload) => {
        const res = await t.app.inject({
          url: `/api/auth/oauth/github/start?returnTo=${encodeURIComponent(payload)}`,
          remoteAddress: nextAddress(),
        });
        if (refusedAsInput(payload, res)) return;
        expect(res.statusCode).toBe(303);
        const location = new URL(res.headers.location as string);
        expect(`${location.origin}${location.pathname}`).toBe('https://github.com/login/oauth/authorize');
        expect(location.searchParams.get('redirect_uri')).toBe(
          `${PUBLIC_URL}/api/auth/oauth/github/callback`,
        );
        const state = await t.app.tokens.verifyState(setCookie(res, OAUTH_STATE_COOKIE)!.value);
        const kept = state?.returnTo as string;
        expect(kept).toBe(safeReturnTo(payload, PUBLIC_URL).path);
        expect(isSameOriginPath(kept, PUBLIC_URL)).toBe(true);
      }),
      { numRuns: RUNS.oauthStart },
    );
  });

  it(`GET /api/auth/cli/authorize: a signed-out browser goes to /login with a same-origin returnTo (${RUNS.cliAuthorize} generated payloads)`, async () => {
    const { challenge } = pkce();
    await fc.assert(
      fc.asyncProperty(
        withKnown(redirectPayload),
        fc.constantFrom('state', 'scope'),
        async (payload, field) => {
          const params = new URLSearchParams({
            client_id: 'fleece-cli',
            redirect_uri: 'http://127.0.0.1:53682/callback',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            state: 'st4te',
          });
          params.set(field, payload);
          const res = await t.app.inject({
            url: `/api/auth/cli/authorize?${params}`,
            remoteAddress: nextAddress(),
          });
          expect(res.statusCode).toBe(303);
          const location = res.headers.location as string;
          expect(staysOn(PUBLIC_URL, location, `${PUBLIC_URL}/api/auth/cli/authorize`)).toBe(true);
          const login = new URL(location, PUBLIC_URL);
          expect(login.pathname).toBe('/login');
          const returnTo = login.searchParams.get('returnTo')!;
          expect(isSameOriginPath(returnTo, PUBLIC_URL)).toBe(true);
          expect(returnTo).toBe(`/cli/authorize?${params}`);
          expect(new URLSearchParams(returnTo.slice(returnTo.indexOf('?') + 1)).get(field)).toBe(payload);
        },
      ),
      { numRuns: RUNS.cliAuthorize },
    );
  });

  it(`GET /api/auth/return-to answers what the rule makes of a payload (${RUNS.returnTo} generated payloads)`, async () => {
    await fc.assert(
      fc.asyncProperty(withKnown(redirectPayload), async (payload) => {
        const res = await t.app.inject({
          url: `/api/auth/return-to?returnTo=${encodeURIComponent(payload)}`,
          remoteAddress: nextAddress(),
        });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual(safeReturnTo(payload, PUBLIC_URL));
      }),
      { numRuns: RUNS.returnTo },
    );
  });

  it('GET /api/auth/return-to records security.redirect_blocked for a refused value', async () => {
    const before = (await auditEvents(t)).filter((e) => e.action === 'security.redirect_blocked').length;
    const res = await t.app.inject({
      url: `/api/auth/return-to?returnTo=${encodeURIComponent('/\\evil.test')}`,
      remoteAddress: nextAddress(),
    });
    expect(res.json()).toEqual({ path: '/', blocked: true });
    const blocked = (await auditEvents(t)).filter((e) => e.action === 'security.redirect_blocked');
    expect(blocked).toHaveLength(before + 1);
    expect(blocked.at(-1)).toMatchObject({ metadata: { parameter: 'returnTo', value: '/\\evil.test' } });
  });
});
