import fc from 'fast-check';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isSameOriginPath, safeReturnTo } from '../../src/modules/identity/redirects.js';
import { pkce } from '../helpers/identity.js';
import { magicLinkFor, type RealServer, startRealServer } from '../helpers/real-server.js';
import { KNOWN_PAYLOADS, redirectPayload } from '../helpers/redirect-payloads.js';
import { launchBrowser, type TestBrowser } from './browser.js';

const EMAIL = 'redirects@example.test';
/** Generated payloads per page (time: each is a page load in Chromium). */
const RUNS = { loginSignedIn: 150, loginSignedOut: 80, cliAuthorize: 60 } as const;
/** Long enough for a few hundred page loads on a shared two-core machine. */
const LONG = 300_000;

let server: RealServer;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startRealServer({
      FLEECE_GITHUB_CLIENT_ID: 'gh-client',
      FLEECE_GITHUB_CLIENT_SECRET: 'gh-secret',
      // Every page load asks three /api routes; hundreds of loads must not meet the default limit.
      FLEECE_RATE_LIMIT_PER_MINUTE: '100000',
      // The browser is its own proxy: each CLI sign-in below comes from an address of its own through
      // X-Forwarded-For, so starting 30 a minute per address (ROUTE_LIMITS.startPerIp) is never reached.
      FLEECE_TRUST_PROXY: '127.0.0.1',
    }),
    launchBrowser(),
  ]);
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(() => {
  browser.problems.expectNone();
  browser.problems.reset();
});

/** A payload, and whether it goes into the query percent-encoded or as it is (the browser encodes it). */
const queryValue = fc
  .tuple(
    fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(...KNOWN_PAYLOADS) },
      { weight: 4, arbitrary: redirectPayload },
    ),
    fc.boolean(),
  )
  .map(([payload, encoded]) => (encoded ? encodeURIComponent(payload) : payload));

interface Links {
  /** The `returnTo` the page read from its own query. */
  raw: string | null;
  /** Every link on the page: its parent's id, its `href` attribute and its resolved `href` property. */
  links: { in: string; attribute: string | null; href: string }[];
}

const READ_LINKS = `({
  raw: new URLSearchParams(location.search).get('returnTo'),
  links: [...document.querySelectorAll('a')].map((a) => ({
    in: a.closest('[id]')?.id ?? '',
    attribute: a.getAttribute('href'),
    href: a.href,
  })),
})`;

let clients = 0;
/** Opens the CLI sign-in (`GET /api/auth/cli/authorize`) with `state`, as a client of its own. */
async function openCliAuthorize(state: string, challenge: string): Promise<URLSearchParams> {
  clients += 1;
  await page.setExtraHTTPHeaders({ 'x-forwarded-for': `198.18.${clients >> 8}.${clients & 255}` });
  const params = new URLSearchParams({
    client_id: 'fleece-cli',
    redirect_uri: 'http://127.0.0.1:53682/callback',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  await page.goto(`${server.url}/api/auth/cli/authorize?${params}`);
  return params;
}

/** Opens `/login?returnTo=<value>` and waits for its links: Continue when `signedIn`, and the providers'. */
async function openLogin(value: string, signedIn: boolean): Promise<Links> {
  await page.goto(`${server.url}/login?returnTo=${value}`);
  await page.locator('#providers a').first().waitFor();
  if (signedIn) await page.locator('#signed-in a').waitFor();
  return (await page.evaluate(READ_LINKS)) as Links;
}

/** The destination the one rule gives the page's `returnTo`, or `null` when it gives none. */
function validated(raw: string | null): string | null {
  if (!raw) return null;
  const result = safeReturnTo(raw, server.url);
  return result.blocked ? null : result.path;
}

/** Every link stays on the origin; Continue and the providers' links carry exactly the validated value. */
function expectLinksSafe({ raw, links }: Links, signedIn: boolean) {
  const context = JSON.stringify(raw);
  for (const link of links) expect(new URL(link.href).origin, `${link.href} for ${context}`).toBe(server.url);
  const destination = validated(raw);
  const providers = links.filter((l) => l.in === 'providers');
  expect(providers).toHaveLength(1);
  const start = new URL(providers[0]!.href);
  expect(start.pathname).toBe('/api/auth/oauth/github/start');
  expect(start.searchParams.get('returnTo'), context).toBe(destination);
  const continues = links.filter((l) => l.in === 'signed-in');
  if (!signedIn) {
    expect(continues).toEqual([]);
    return;
  }
  expect(continues).toHaveLength(1);
  expect(continues[0]!.attribute, context).toBe(destination ?? '/settings');
  expect(isSameOriginPath(continues[0]!.attribute!, server.url)).toBe(true);
}

describe('open-redirect payloads in the pages, in Chromium (claim C7)', () => {
  it('signs in by magic link', async () => {
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email address').fill(EMAIL);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    // A development server without an email provider says where the link went (issue 17).
    await expect
      .poll(() => page.locator('#magic-status').textContent())
      .toBe(
        `If ${EMAIL} can sign in, its link is now printed in the terminal where the server runs. It works for 15 minutes, once.`,
      );
    expect(await page.locator('#magic-delivery').isVisible()).toBe(true);
    expect(await page.locator('#magic-delivery').textContent()).toBe(
      'This development server has no email provider: sign-in links are printed in the terminal where the server runs.',
    );
    await page.goto(magicLinkFor(server, EMAIL)!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
  });

  it.each(['/%5Cevil.test', '/%09/evil.test', '/\\evil.test', '/.//evil.test'])(
    'regression: a signed-in /login?returnTo=%s offers a Continue link on this origin',
    async (value) => {
      const links = await openLogin(value, true);
      const cont = links.links.find((l) => l.in === 'signed-in')!;
      expect(cont).toEqual({ in: 'signed-in', attribute: '/settings', href: `${server.url}/settings` });
      expectLinksSafe(links, true);
    },
  );

  it('takes a good returnTo to Continue and the provider links, normalised by the server', async () => {
    const links = await openLogin(encodeURIComponent('/a/./b/../device?user_code=ABCD-EFGH#x'), true);
    expect(links.links.find((l) => l.in === 'signed-in')!.attribute).toBe('/a/device?user_code=ABCD-EFGH#x');
    expectLinksSafe(links, true);
  });

  it(
    `/login signed in: Continue and provider links stay on the origin (${RUNS.loginSignedIn} generated payloads)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(queryValue, async (value) => expectLinksSafe(await openLogin(value, true), true)),
        { numRuns: RUNS.loginSignedIn },
      );
    },
    LONG,
  );

  it(
    `/cli/authorize signed in: the consent page opens on the origin with nothing leaving it (${RUNS.cliAuthorize} generated payloads)`,
    async () => {
      const { challenge } = pkce();
      await fc.assert(
        fc.asyncProperty(redirectPayload, async (payload) => {
          await openCliAuthorize(payload, challenge);
          expect(new URL(page.url()).pathname).toBe('/cli/authorize');
          await expect.poll(() => page.locator('#d-client').textContent()).toBe('fleece-cli');
          expect(new URL(page.url()).origin).toBe(server.url);
          const { links } = (await page.evaluate(READ_LINKS)) as Links;
          for (const link of links) expect(new URL(link.href).origin).toBe(server.url);
        }),
        { numRuns: RUNS.cliAuthorize },
      );
    },
    LONG,
  );

  it(
    `signed out: /login's provider links and the CLI sign-in detour stay on the origin (${RUNS.loginSignedOut} + ${RUNS.cliAuthorize} generated payloads)`,
    async () => {
      await browser.context.clearCookies();
      await fc.assert(
        fc.asyncProperty(queryValue, async (value) => expectLinksSafe(await openLogin(value, false), false)),
        { numRuns: RUNS.loginSignedOut },
      );
      const { challenge } = pkce();
      await fc.assert(
        fc.asyncProperty(redirectPayload, async (payload) => {
          const params = await openCliAuthorize(payload, challenge);
          const landed = new URL(page.url());
          expect(`${landed.origin}${landed.pathname}`).toBe(`${server.url}/login`);
          await page.locator('#providers a').first().waitFor();
          const links = (await page.evaluate(READ_LINKS)) as Links;
          expect(links.raw).toBe(`/cli/authorize?${params}`);
          expectLinksSafe(links, false);
        }),
        { numRuns: RUNS.cliAuthorize },
      );
    },
    LONG,
  );
});
