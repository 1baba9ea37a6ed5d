import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_API_KEY_EXPIRY_DAYS, DEFAULT_API_KEY_SCOPES, Fleece } from '@fleece/sdk';
import { HttpResponse, http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pkce } from '../helpers/identity.js';
import { magicLinkFor, type RealServer, startRealServer } from '../helpers/real-server.js';
import { type AxeViolation, axeViolations, launchBrowser, screenshot, type TestBrowser } from './browser.js';

const EMAIL = 'ada@example.test';
let server: RealServer;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  [server, browser] = await Promise.all([startRealServer({ FLEECE_ADMIN_EMAILS: EMAIL }), launchBrowser()]);
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

/** The session cookie the browser holds, as a `cookie` header value. */
async function cookieHeader(): Promise<string> {
  const cookies = await browser.context.cookies(server.url);
  const session = cookies.find((c) => c.name === '__Host-fleece_session');
  expect(session, 'the session cookie').toBeDefined();
  return `${session!.name}=${session!.value}`;
}

/**
 * From the sign-in page (already open in `page`), signs `email` in as a person would: asks for a magic
 * link, opens the one the development outbox wrote to `on`'s log, and confirms it.
 */
async function signInOnLoginPage(on: RealServer, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  // No email provider on this development server: the link is printed in its terminal (its log).
  await expect
    .poll(() => page.locator('#magic-status').textContent())
    .toContain('its link is now printed in the terminal where the server runs');
  const link = magicLinkFor(on, email);
  expect(link, 'a magic link in the dev outbox').toBeDefined();
  await page.goto(link!);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Waits until the settings page knows whether billing is set up (`#billing[data-billing]`). On the server
 * without billing, that answer is `GET /api/v1/billing` → 503 `billing_not_configured`, which Chromium logs
 * as a failed load: declared here, once per page load.
 */
async function settingsReady(billing: 'on' | 'off' = 'off'): Promise<void> {
  if (billing === 'off') browser.problems.expectFailedLoad('/api/v1/billing', 503);
  await page.locator(`#billing[data-billing="${billing}"]`).waitFor({ state: 'attached' });
}

/** Loads the settings page afresh (a changed fragment alone would not reload it) at `section`. */
async function openSettings(section: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${server.url}/settings${section ? `#${section}` : ''}`);
  await settingsReady();
}

/** The colour schemes and widths every page is checked in: a laptop and a phone (iPhone 14, 390 px). */
const LOOKS = [
  { scheme: 'light', width: 1280, height: 900 },
  { scheme: 'dark', width: 1280, height: 900 },
  { scheme: 'light', width: 390, height: 844 },
  { scheme: 'dark', width: 390, height: 844 },
] as const;

/**
 * Opens `url` (through `open`, when given, for pages that need a step to show) in every look of
 * {@link LOOKS}, runs axe-core on it, screenshots it as `<name>-<scheme>-<width>.png` (the whole page, or
 * with `shot.viewport` the screen), and expects no serious or critical violation, no sideways scrolling and
 * no `[object …]`, `undefined` or `NaN` in its text. Restores the light scheme and 1280 px.
 */
async function checkEveryLook(
  name: string,
  open: () => Promise<void>,
  shot: { viewport?: boolean } = {},
): Promise<void> {
  const found: Record<string, AxeViolation[]> = {};
  try {
    for (const look of LOOKS) {
      await page.setViewportSize({ width: look.width, height: look.height });
      await page.emulateMedia({ colorScheme: look.scheme });
      await open();
      const violations = await axeViolations(page);
      if (violations.length > 0) found[`${look.scheme} ${look.width}px`] = violations;
      expect(
        await page.evaluate('document.documentElement.scrollWidth'),
        `${name} scrolls sideways`,
      ).toBeLessThanOrEqual(look.width);
      // Nothing a script failed to turn into text.
      expect(await page.locator('body').textContent(), name).not.toMatch(
        /\[object \w+\]|\bundefined\b|\bNaN\b/,
      );
      await screenshot(page, `${name}-${look.scheme}-${look.width}`, undefined, shot);
    }
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  }
  expect(found, `axe-core: serious or critical violations on ${name}`).toEqual({});
}

describe('the web pages in Chromium', () => {
  it('home page: says you are not signed in, with a link to sign in; no favicon 404', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('#account').textContent()).toContain('You are not signed in');
    expect(await page.locator('#account a').getAttribute('href')).toBe('/login?returnTo=%2Fsettings');
    const icon = await page.request.get(`${server.url}/favicon.ico`);
    expect(icon.status()).toBe(200);
    expect(icon.headers()['content-type']).toContain('image/');
  });

  it('/device says to sign in first, before any code is asked for', async () => {
    await page.goto(`${server.url}/device?user_code=ABCD-EFGH`);
    await expect.poll(() => page.locator('#status').textContent()).toContain('You must sign in first');
    expect(await page.locator('#code-form').isHidden()).toBe(true);
    expect(await page.locator('#sign-in-link').getAttribute('href')).toBe(
      `/login?returnTo=${encodeURIComponent('/device?user_code=ABCD-EFGH')}`,
    );
  });

  it('/cli/authorize without a request shows a human error, not a validation error', async () => {
    await page.goto(`${server.url}/cli/authorize`);
    await expect
      .poll(() => page.locator('#error').textContent())
      .toBe(
        'This page was opened without a sign-in request. Run fleece login again in your terminal: it opens this page with everything it needs.',
      );
    expect(await page.locator('h1').textContent()).toBe('This CLI sign-in request is not valid');
    expect(await page.locator('#request').isHidden()).toBe(true);
    expect(await page.title()).toBe('Sign-in request not valid · Fleece');
  });

  it('the watch is real: an inline script is refused by the CSP and reported', async () => {
    await page.goto(`${server.url}/login`);
    await page.evaluate(
      "document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.ran = 1' }))",
    );
    await expect.poll(() => browser.problems.cspViolations.length).toBe(1);
    expect(browser.problems.cspViolations[0]).toMatch(/^script-src-elem blocked inline at /);
    expect(await page.evaluate('window.ran')).toBeUndefined();
    expect(browser.problems.consoleErrors.join('\n')).toContain('Content Security Policy');
    browser.problems.reset();
  });

  it('the accessibility check is real: a button without a name is reported as critical', async () => {
    await page.goto(`${server.url}/login`);
    await page.locator('#magic-form').waitFor();
    // Built through the DOM (not an inline script), so the page's CSP has nothing to refuse.
    await page.evaluate("document.querySelector('main').append(document.createElement('button'))");
    const violations = await axeViolations(page);
    expect(violations.map((v) => [v.id, v.impact])).toEqual([['button-name', 'critical']]);
    expect(violations[0]!.targets).toEqual(['main > button']);
  });

  it('accessibility, signed out: home, sign-in, magic link, device, CLI authorization and the 404 page, light and dark, 1280 and 390 px', async () => {
    const load = (path: string, ready: string) => async () => {
      await page.goto(`${server.url}${path}`);
      await page.locator(ready).first().waitFor();
    };
    await checkEveryLook('page-home-signed-out', async () => {
      await page.goto(`${server.url}/`);
      await expect.poll(() => page.locator('#account').textContent()).toContain('You are not signed in');
    });
    await checkEveryLook('page-login', load('/login', '#magic-form'));
    await checkEveryLook('page-magic', load('/login/magic?token=t', '#magic-verify'));
    await checkEveryLook('page-device-signed-out', load('/device', '#sign-in-link'));
    await checkEveryLook('page-cli-authorize-invalid', async () => {
      await page.goto(`${server.url}/cli/authorize`);
      await expect.poll(() => page.locator('#error').isVisible()).toBe(true);
    });
    await checkEveryLook('page-not-found', async () => {
      browser.problems.expectFailedLoad('/no-such-page', 404);
      const res = await page.goto(`${server.url}/no-such-page`);
      expect(res?.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('Page not found');
    });
  }, 240_000);

  it('signs in by magic link (dev outbox) and lands on the settings page', async () => {
    await page.goto(`${server.url}/settings`);
    await page.waitForURL(/\/login\?returnTo=%2Fsettings/);
    await signInOnLoginPage(server, EMAIL);
    await page.waitForURL(`${server.url}/settings`);
    await settingsReady();
    await expect.poll(() => page.locator('#p-email').textContent()).toBe(EMAIL);
    expect(await page.locator('#who').textContent()).toBe(`Signed in as ${EMAIL}`);
    // Nothing of the session is readable by scripts or kept in web storage.
    expect(await page.evaluate('[document.cookie, localStorage.length, sessionStorage.length]')).toEqual([
      '',
      0,
      0,
    ]);
    await screenshot(page, 'settings-profile', '#profile');
  });

  it('the home page shows who is signed in, with the way to settings', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('#account').textContent()).toContain(`Signed in as ${EMAIL}.`);
    expect(await page.locator('#account a').getAttribute('href')).toBe('/settings');
    await page.goto(`${server.url}/login`);
    await expect
      .poll(() => page.locator('#signed-in').textContent())
      .toBe(`You are already signed in as ${EMAIL}. Continue or sign in with another account below.`);
  });

  it('edits the display name; the audit log names the change as yours, in the words of the CLI', async () => {
    await openSettings('profile');
    const name = page.getByLabel('Display name');
    await expect.poll(() => page.locator('#p-email').textContent()).toBe(EMAIL);
    expect(await name.inputValue()).toBe('');
    await name.fill('  Ada Lovelace ');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(() => page.locator('#profile-status').textContent())
      .toBe('Saved. Your name is now Ada Lovelace.');
    expect(await name.inputValue()).toBe('Ada Lovelace');
    await screenshot(page, 'settings-profile-named', '#profile');
    // Kept: after a reload, and on the home page.
    await openSettings('profile');
    await expect.poll(() => name.inputValue()).toBe('Ada Lovelace');
    await page.goto(`${server.url}/`);
    await expect
      .poll(() => page.locator('#account').textContent())
      .toContain(`Signed in as Ada Lovelace (${EMAIL}).`);

    // The change is in the audit log, by "you" (this account is an administrator: still you, as the CLI says).
    await openSettings('audit');
    const row = page.locator('#audit-table tbody tr[data-action="account.updated"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td[data-label="By"]').textContent()).toBe('you');
    expect(await row.locator('td[data-label="Outcome"]').textContent()).toBe('Success');

    // An empty name removes it.
    await openSettings('profile');
    await expect.poll(() => name.inputValue()).toBe('Ada Lovelace');
    await name.fill('');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(() => page.locator('#profile-status').textContent())
      .toBe('Saved. Your name is removed.');
    const me = await page.request.get(`${server.url}/api/v1/me`);
    expect(((await me.json()) as { user: { name: string | null } }).user.name).toBe(null);
  });

  it('a plan limit offers the upgrade: a Free account cannot create a key', async () => {
    await openSettings('api-keys');
    await expect.poll(() => page.locator('#keys-usage').textContent()).toContain('includes no API keys');
    browser.problems.expectFailedLoad('/api/v1/api-keys', 403);
    await page.getByLabel('Name', { exact: true }).fill('CI deploy');
    await page.getByRole('button', { name: 'Create key' }).click();
    const alert = page.locator('#keys-error');
    await expect.poll(() => alert.textContent()).toContain('A higher plan raises the limit.');
    expect(await alert.getByRole('link', { name: 'See plans and upgrade' }).getAttribute('href')).toBe(
      '/settings#billing',
    );
    expect(await page.locator('#new-key').isHidden()).toBe(true);
  });

  it('creates a key shown once with a copy button; after a reload only its start is shown; revokes it', async () => {
    // Billing is off on this server: the account's admin puts it on Pro.
    const cookie = await cookieHeader();
    const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).json()) as {
      user: { id: string };
    };
    const patched = await fetch(`${server.url}/api/v1/admin/users/${me.user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', origin: server.url, cookie },
      body: JSON.stringify({ plan: 'pro' }),
    });
    expect(patched.status).toBe(200);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });

    await openSettings('api-keys');
    await expect
      .poll(() => page.locator('#keys-usage').textContent())
      .toBe('You use 0 of the 5 keys your Pro plan allows.');
    await page.getByLabel('Name', { exact: true }).fill('CI deploy');
    await page.getByLabel('Expires').selectOption('30');
    await page.getByLabel('Write: create, change and delete').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = page.locator('#new-key-value');
    await value.waitFor({ state: 'visible' });
    const key = await value.inputValue();
    expect(key).toMatch(/^flc_[0-9A-Za-z]{49}$/);
    // The form starts a next key with a new name, but the scopes and expiry chosen stay as they were.
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('');
    expect(
      await page
        .locator('#key-scopes input[type="checkbox"]:checked')
        .evaluateAll((boxes) => boxes.map((box) => box.getAttribute('value'))),
    ).toEqual(['read', 'write']);
    expect(await page.getByLabel('Expires', { exact: true }).inputValue()).toBe('30');
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.locator('#copy-status').textContent()).toBe('Copied to the clipboard.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(key);
    const row = page.locator('#keys-table tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').nth(2).textContent()).toBe('read, write');
    await screenshot(page, 'settings-api-keys', '#api-keys');

    // The key works, then a reload shows only its start.
    const whoami = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(whoami.status).toBe(200);
    await page.reload();
    await settingsReady();
    await expect.poll(() => row.count()).toBe(1);
    expect(await page.locator('#new-key').isHidden()).toBe(true);
    expect(await page.locator('#new-key-value').inputValue()).toBe('');
    expect(await row.locator('code.key-start').textContent()).toBe(`${key.slice(0, 12)}…`);
    expect(await page.content()).not.toContain(key.slice(12));

    await row.getByRole('button', { name: 'Revoke key CI deploy' }).click();
    await page.getByRole('button', { name: 'Revoke key', exact: true }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await page.locator('#keys-empty').isVisible()).toBe(true);
    const refused = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(401);
  });

  it('regression: revoking the key whose secret is on show takes the secret off the page', async () => {
    // The account is on Pro since the test above.
    await openSettings('api-keys');
    await page.getByLabel('Name', { exact: true }).fill('short-lived');
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = page.locator('#new-key-value');
    await value.waitFor({ state: 'visible' });
    expect(await value.inputValue()).toMatch(/^flc_/);
    const row = page.locator('#keys-table tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: 'Revoke key short-lived' }).click();
    await page.getByRole('button', { name: 'Revoke key', exact: true }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await page.locator('#new-key').isHidden()).toBe(true);
    expect(await value.inputValue()).toBe('');
  });

  it("starts a new key from the contract's one default (read only, 30 days); never expires only when chosen", async () => {
    await openSettings('api-keys');
    const boxes = page.locator('#key-scopes input[type="checkbox"]');
    await expect.poll(() => boxes.count()).toBe(6);
    const checked = await boxes.evaluateAll((inputs) =>
      inputs
        .map((i) => i as unknown as { checked: boolean; value: string })
        .filter((i) => i.checked)
        .map((i) => i.value),
    );
    expect(checked).toEqual([...DEFAULT_API_KEY_SCOPES]);
    expect(await page.getByLabel('Expires').inputValue()).toBe(String(DEFAULT_API_KEY_EXPIRY_DAYS));

    await page.getByLabel('Name', { exact: true }).fill('forever');
    await page.getByLabel('Expires').selectOption({ label: 'never' });
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#new-key-value').waitFor({ state: 'visible' });
    const cookie = await cookieHeader();
    const listed = (await (await fetch(`${server.url}/api/v1/api-keys`, { headers: { cookie } })).json()) as {
      data: { id: string; name: string; scopes: string[]; expiresAt: string | null }[];
    };
    const forever = listed.data.find((k) => k.name === 'forever');
    expect(forever).toMatchObject({ scopes: ['read'], expiresAt: null });
    const revoked = await fetch(`${server.url}/api/v1/api-keys/${forever!.id}`, {
      method: 'DELETE',
      headers: { origin: server.url, cookie },
    });
    expect(revoked.status).toBe(204);
    await page.locator('#dismiss-key').click();
    expect(await page.locator('#new-key').isHidden()).toBe(true);
  });

  it('approves a device code started through the SDK, and the audit log shows it live', async () => {
    await openSettings('audit');
    await expect
      .poll(() => page.locator('#audit-live-status').textContent())
      .toBe('Live: new events appear as they happen.');
    const before = await page.locator('#audit-table tbody tr[data-action="auth.device.authorized"]').count();
    expect(before).toBe(0);

    // Node's fetch rather than the SDK's default transport (npm undici): loading that installs its own
    // global dispatcher, under which msw no longer sees the Stripe calls of the billing test below.
    const client = new Fleece({ baseURL: server.url, auth: false, fetch: (url, init) => fetch(url, init) });
    const grant = await client.auth.deviceAuthorization();
    const device = await browser.newPage();
    await device.goto(grant.verification_uri_complete!);
    await expect.poll(() => device.locator('#d-code').textContent()).toBe(grant.user_code);
    expect(await device.locator('#signed-in-as').textContent()).toContain(EMAIL);
    await device.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => device.locator('#status').textContent())
      .toContain('Device connected. You can close this page');
    // Answered: nothing on the page can act on the request again.
    expect(await device.locator('#code-form').isHidden()).toBe(true);
    expect(await device.locator('#confirm').isHidden()).toBe(true);
    expect(await device.locator('#approve').isDisabled()).toBe(true);
    expect(await device.locator('#deny').isDisabled()).toBe(true);
    await screenshot(device, 'device-approved');

    // Denying works the same way: answered once, then the page is inactive.
    const refused = await client.auth.deviceAuthorization();
    await device.goto(refused.verification_uri_complete!);
    await expect.poll(() => device.locator('#d-code').textContent()).toBe(refused.user_code);
    await device.getByRole('button', { name: 'Deny' }).click();
    await expect
      .poll(() => device.locator('#status').textContent())
      .toContain('Denied. The device was not connected.');
    expect(await device.locator('#code-form').isHidden()).toBe(true);
    expect(await device.locator('#approve').isDisabled()).toBe(true);
    await device.close();

    const tokens = await client.auth.pollDeviceToken({ ...grant, interval: 1 });
    expect(tokens.access_token).toBeTruthy();

    // The settings page, never reloaded, got the event from the stream.
    const live = page.locator('#audit-table tbody tr[data-action="auth.device.authorized"]');
    await expect.poll(() => live.count(), { timeout: 15_000 }).toBe(1);
    expect(await live.getAttribute('class')).toBe('fresh');
    await screenshot(page, 'settings-audit', '#audit');

    // Filtering asks the server again: only API key events.
    await page.getByLabel('Action').selectOption('api_key.');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () => [
        ...new Set(
          await page
            .locator('#audit-table tbody tr')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))),
        ),
      ])
      .toEqual(['api_key.revoked', 'api_key.created']);
  });

  it('lists sessions and revokes the CLI one; signing out the others then finds none', async () => {
    await openSettings('sessions');
    const rows = page.locator('#sessions-table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.filter({ hasText: 'This browser' }).count()).toBe(1);
    await screenshot(page, 'settings-sessions', '#sessions');
    const cli = rows.filter({ hasText: 'Device code' });
    await cli.getByRole('button', { name: /^Revoke session/ }).click();
    await page.getByRole('button', { name: 'Revoke session', exact: true }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out all other sessions' }).click();
    await page.getByRole('button', { name: 'Sign out others', exact: true }).click();
    await expect
      .poll(() => page.locator('#sessions-status').textContent())
      .toBe('No other session was active.');
  });

  it('grants and revokes a consent', async () => {
    await openSettings('consents');
    const box = page.getByLabel('AI processing');
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await expect.poll(() => page.locator('#consents-status').textContent()).toBe('AI processing: granted.');
    await page.reload();
    await settingsReady();
    await expect.poll(() => page.getByLabel('AI processing').isChecked()).toBe(true);
    await screenshot(page, 'settings-consents', '#consents');
    await page.getByLabel('Product email').check();
    await expect.poll(() => page.locator('#consents-status').textContent()).toBe('Product email: granted.');
    await page.getByLabel('Product email').uncheck();
    await expect.poll(() => page.locator('#consents-status').textContent()).toBe('Product email: revoked.');
  });

  it('plan & billing: usage against the limits; with billing off no upgrade is offered, the administrator sets plans', async () => {
    await openSettings('billing');
    await expect.poll(() => page.locator('#plan-name').textContent()).toBe('Pro');
    expect(await page.locator('#usage').textContent()).toContain('API keys0 of 5');
    expect(await page.locator('#billing-off').isVisible()).toBe(true);
    expect((await page.locator('#billing-off').textContent())?.replace(/\s+/g, ' ')).toBe(
      "Billing is not set up on this server, so plans are not sold here: its administrator sets each account's plan. Ask them for a higher plan.",
    );
    expect(await page.locator('#billing-controls').isHidden()).toBe(true);
    expect(await page.getByRole('button', { name: /^Upgrade to / }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Show subscription and invoices' }).count()).toBe(0);
    expect(await page.locator('#billing-error').isHidden()).toBe(true);
    await screenshot(page, 'settings-billing', '#billing');
  });

  it('exports the data as NDJSON and as a zip; the hourly limit says when to try again', async () => {
    await openSettings('data');
    const [ndjson] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download (NDJSON)' }).click(),
    ]);
    expect(ndjson.suggestedFilename()).toMatch(/^fleece-export-.*\.ndjson$/);
    const lines = (await readFile((await ndjson.path())!, 'utf8')).trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(2);
    expect(JSON.stringify(records)).toContain(EMAIL);
    await expect
      .poll(() => page.locator('#export-status').textContent())
      .toMatch(/^Downloaded fleece-export-/);

    const [zip] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download (ZIP)' }).click(),
    ]);
    expect(zip.suggestedFilename()).toMatch(/\.zip$/);
    expect((await readFile((await zip.path())!)).subarray(0, 2).toString('latin1')).toBe('PK');
    await screenshot(page, 'settings-data', '#data');

    // Five exports an hour (claim C17): use up the rest, and the page says when the next one is possible.
    const cookie = await cookieHeader();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/api/v1/export`, { headers: { cookie } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    browser.problems.expectFailedLoad('/api/v1/export', 429);
    await page.getByRole('button', { name: 'Download (NDJSON)' }).click();
    await expect
      .poll(() => page.locator('#export-error').textContent())
      .toMatch(/^Too many requests\. Try again in \d+ minutes \(at .+\)\.$/);
  });

  it('deletes the account with a typed confirmation, then signs in again and cancels the deletion', async () => {
    await openSettings('data');
    const submit = page.getByRole('button', { name: 'Delete my account' });
    await expect.poll(() => page.locator('#delete-hint').textContent()).toContain('to cancel.');
    await page.getByLabel('To confirm, type your email address').fill('someone@else.test');
    expect(await submit.isDisabled()).toBe(true);
    await page.getByLabel('To confirm, type your email address').fill(EMAIL.toUpperCase());
    expect(await submit.isEnabled()).toBe(true);
    await submit.click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete my account' }).click();
    const text = page.locator('#deletion-pending-text');
    await expect.poll(() => text.textContent()).toContain('Deletion requested.');
    expect(await text.textContent()).toContain('You have been signed out everywhere');
    expect(await page.locator('#api-keys').isHidden()).toBe(true);
    expect((await browser.context.cookies(server.url)).map((c) => c.name)).not.toContain(
      '__Host-fleece_session',
    );
    await screenshot(page, 'settings-data-deletion-requested', '#data');

    // Signing in again (a new magic link) lands on the pending account, which can only cancel.
    await page.getByRole('link', { name: 'Sign in again to cancel the deletion' }).click();
    await page.waitForURL(/\/login\?returnTo=/);
    await signInOnLoginPage(server, EMAIL);
    await page.waitForURL(`${server.url}/settings#data`);
    await expect.poll(() => page.locator('#deletion-pending').isVisible()).toBe(true);
    expect(await page.locator('#deletion-pending-text').textContent()).toContain('scheduled for deletion on');
    expect(await page.locator('#api-keys').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Cancel deletion' }).click();
    await page.waitForURL(`${server.url}/settings#data`);
    await settingsReady();
    await expect
      .poll(() => page.locator('#page-status').textContent())
      .toBe('Deletion cancelled. Your account is active again.');
    expect(await page.locator('#api-keys').isVisible()).toBe(true);
    expect(await page.locator('#p-status').textContent()).toBe('Active');
  });

  it('pages through the audit log', async () => {
    await openSettings('audit');
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(20);
    const first = await rows.evaluateAll((r) => r.map((row) => row.getAttribute('data-event-id')));
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => page.locator('#audit-page').textContent()).toBe('Page 2');
    const second = await rows.evaluateAll((r) => r.map((row) => row.getAttribute('data-event-id')));
    expect(second.length).toBeGreaterThan(0);
    // Newest first, and page 2 continues where page 1 ended.
    const ids = [...first, ...second].map((id) => Number(id!.slice(4)));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => page.locator('#audit-page').textContent()).toBe('Page 1');
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
  });

  it('turns problem details into sentences that say what to do', async () => {
    await page.goto(`${server.url}/`);
    const messages = await page.evaluate(`import('/js/common.js').then(({ describeProblem }) => {
      const headers = (h) => new Headers(h);
      return {
        rateLimited: describeProblem(429, { code: 'rate_limited', detail: 'Too many.' }, headers({ 'retry-after': '42' })),
        planLimit: describeProblem(403, { code: 'plan_limit_reached', detail: 'Your Free plan allows 0 API keys.', upgrade: true }),
        consent: describeProblem(403, { code: 'consent_required', detail: 'Running an agent needs the ai_processing consent.' }),
        reauth: describeProblem(403, { code: 'reauthentication_required', detail: 'Sign in again within 10 minutes of deleting.' }),
        validation: describeProblem(400, { code: 'validation_failed', detail: 'x', errors: [{ path: 'body.name', message: 'Too small' }] }),
        internal: describeProblem(500, { code: 'internal_error', requestId: 'req_1' }),
        offline: describeProblem(0, null),
      };
    })`);
    expect(messages).toMatchObject({
      rateLimited: {
        retryAfter: 42,
        message: expect.stringMatching(/^Too many requests\. Try again in 42 seconds \(at .+\)\.$/),
      },
      planLimit: {
        message: 'Your Free plan allows 0 API keys. A higher plan raises the limit.',
        action: { href: '/settings#billing', label: 'See plans and upgrade' },
      },
      consent: {
        message:
          'Running an agent needs the ai_processing consent. Grant it under Consents in your settings, then try again.',
        action: { href: '/settings#consents', label: 'Review consents' },
      },
      reauth: {
        message: 'Sign in again within 10 minutes of deleting. Sign in again, then repeat it.',
        action: { label: 'Sign in again' },
      },
      validation: { message: 'Check what you entered: name: Too small.' },
      internal: { message: 'Something went wrong on the server. Try again in a moment. (Request ID req_1.)' },
      offline: { message: 'Fleece cannot be reached. Check your connection and try again.' },
    });
  });

  it('at 1280 px every table fits its card: no column cut off, the IP address shown', async () => {
    await openSettings('audit');
    await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(20);
    await page.locator('#sessions-table tbody tr').first().waitFor();
    for (const table of ['#keys-table', '#sessions-table', '#audit-table']) {
      const wrap = page.locator(`.table-wrap:has(${table})`);
      const [scrollWidth, clientWidth] = (await wrap.evaluate((el) => [el.scrollWidth, el.clientWidth])) as [
        number,
        number,
      ];
      expect(scrollWidth, `${table} overflows its card`).toBeLessThanOrEqual(clientWidth);
    }
    const ip = page.locator('#audit-table tbody tr').first().locator('td[data-label="IP address"]');
    expect(await ip.textContent()).toBe('127.0.0.1');
    const box = await ip.boundingBox();
    const card = await page.locator('#audit').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(card!.x + card!.width);
    expect(box!.width).toBeGreaterThan(80);
    // The side navigation marks the section in view.
    await expect.poll(() => page.locator('nav.sections a[aria-current]').textContent()).toBe('Audit log');
  });

  it('accessibility, signed in: home, device, CLI authorization and every settings section (and its dialog), light and dark, 1280 and 390 px', async () => {
    await checkEveryLook('page-home-signed-in', async () => {
      await page.goto(`${server.url}/`);
      await expect.poll(() => page.locator('#account').textContent()).toContain('Signed in as');
    });
    await checkEveryLook('page-device', async () => {
      await page.goto(`${server.url}/device`);
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toContain(EMAIL);
    });
    const { challenge } = pkce();
    const query = new URLSearchParams({
      client_id: 'fleece-cli',
      redirect_uri: 'http://127.0.0.1:53682/callback',
      state: 'state-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await checkEveryLook('page-cli-authorize', async () => {
      await page.goto(`${server.url}/cli/authorize?${query}`);
      await expect.poll(() => page.locator('#d-redirect').textContent()).toContain('port 53682');
    });
    await checkEveryLook('page-settings', async () => {
      await openSettings('');
      await page.locator('#audit-table tbody tr').first().waitFor();
      await page.locator('#consent-list li').first().waitFor();
    });
    await checkEveryLook(
      'page-settings-dialog',
      async () => {
        await openSettings('sessions');
        await page.getByRole('button', { name: 'Sign out all other sessions' }).click();
        await page.locator('#confirm-dialog[open]').waitFor();
      },
      { viewport: true },
    );
    await page.keyboard.press('Escape');
    // Every section, one screenshot each in both schemes at 1280 px.
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await openSettings('');
      await page.locator('#audit-table tbody tr').first().waitFor();
      for (const section of ['profile', 'api-keys', 'sessions', 'audit', 'data', 'consents', 'billing']) {
        await screenshot(page, `settings-section-${section}-${scheme}`, `#${section}`);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }, 300_000);

  it('works at 360 px: no sideways scrolling, every section reachable', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    try {
      await openSettings('');
      await expect.poll(() => page.locator('#p-email').textContent()).toBe(EMAIL);
      await page.locator('#keys-table tbody tr, #keys-empty').first().waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      // Keyboard: the skip link is the first stop and moves focus to the content.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
      await screenshot(page, 'settings-360px');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

describe('plan & billing with Stripe configured (Stripe API mocked by msw, Checkout page by the browser)', () => {
  const STRIPE_API = 'https://api.stripe.com';
  const CHECKOUT_URL = 'https://checkout.stripe.com/c/pay/cs_test_web';
  const stripe = setupServer();
  let billed: RealServer;
  const checkouts: Record<string, string>[] = [];

  beforeAll(async () => {
    // Listening first: the Stripe client the server builds must see the intercepted network.
    stripe.use(
      // This process's own calls to Fleece servers on loopback (the test's fetches) go through untouched.
      http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()),
      http.post(`${STRIPE_API}/v1/customers`, () => HttpResponse.json({ id: 'cus_web', object: 'customer' })),
      http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request }) => {
        checkouts.push(Object.fromEntries(new URLSearchParams(await request.text())));
        return HttpResponse.json({ id: 'cs_test_web', object: 'checkout.session', url: CHECKOUT_URL });
      }),
    );
    stripe.listen({ onUnhandledFrame: 'error' });
    billed = await startRealServer({
      STRIPE_SECRET_KEY: 'sk_test_fleece',
      STRIPE_WEBHOOK_SECRET: 'whsec_fleecetestsecret',
      STRIPE_PRICE_PRO: 'price_pro',
      STRIPE_PRICE_BUSINESS: 'price_business',
    });
    // Cookies are per host, not per port: start this server's browser session from nothing.
    await browser.context.clearCookies();
    // The browser never leaves the machine: Stripe's hosted page is a stand-in.
    await browser.context.route('https://checkout.stripe.com/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><title>Stripe Checkout</title><p>Pay</p>',
      }),
    );
  }, 120_000);

  afterAll(async () => {
    stripe.close();
    await browser.context.unroute('https://checkout.stripe.com/**');
    await billed?.close();
  });

  it('upgrades through Stripe Checkout and says so on the way back', async () => {
    await page.goto('about:blank');
    await page.goto(`${billed.url}/settings#billing`);
    await page.waitForURL(/\/login\?returnTo=/);
    await signInOnLoginPage(billed, 'grace@example.test');
    await page.waitForURL(`${billed.url}/settings#billing`);
    await settingsReady('on');
    expect(await page.locator('#billing-off').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#plan-name').textContent()).toBe('Free');
    expect(await page.locator('#usage').textContent()).toContain('API keys0 of 0 — limit reached');

    await page.getByRole('button', { name: 'Upgrade to Pro' }).click();
    await page.waitForURL(CHECKOUT_URL);
    expect(checkouts).toHaveLength(1);
    expect(checkouts[0]).toMatchObject({
      mode: 'subscription',
      'line_items[0][price]': 'price_pro',
      success_url: `${billed.url}/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}#billing`,
      cancel_url: `${billed.url}/settings?checkout=cancelled#billing`,
    });

    // Stripe sends the browser back to the success URL; the page thanks and drops the parameters.
    await page.goto(`${billed.url}/settings?checkout=success&session_id=cs_test_web#billing`);
    await expect.poll(() => page.locator('#page-status').textContent()).toContain('payment received');
    expect(new URL(page.url()).search).toBe('');
    await page.getByRole('button', { name: 'Show subscription and invoices' }).click();
    await expect.poll(() => page.locator('#billing-details').textContent()).toBe('You have no subscription.');
    await screenshot(page, 'settings-billing-stripe', '#billing');

    await page.goto(`${billed.url}/settings?checkout=cancelled#billing`);
    await expect
      .poll(() => page.locator('#page-status').textContent())
      .toBe('Checkout cancelled: nothing was charged and your plan is unchanged.');
  });

  it('refuses a cookie-carrying write from another origin of the same site (the Origin check, beyond SameSite)', async () => {
    // Another port on the same host is same-site, so SameSite=Lax still sends the cookie from there.
    const elsewhere = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Elsewhere</title>');
    });
    elsewhere.listen(0, '127.0.0.1');
    await once(elsewhere, 'listening');
    const { port } = elsewhere.address() as AddressInfo;
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      // The server answers 403; Cross-Origin-Resource-Policy: same-origin then withholds even that.
      browser.problems.expectFailedLoad('/api/auth/logout', 'ERR_BLOCKED_BY_RESPONSE.NotSameOrigin');
      const sent = await page.evaluate(
        `fetch(${JSON.stringify(`${billed.url}/api/auth/logout`)}, { method: 'POST', mode: 'no-cors', credentials: 'include' }).then(() => 'sent', (e) => 'failed: ' + e.message)`,
      );
      expect(sent).toBe('failed: Failed to fetch');
      // The server log pairs the request (by its id) with its 403 answer.
      const answered = () => {
        const records = billed.logs.map(
          (l) =>
            JSON.parse(l) as {
              reqId?: string;
              req?: { method?: string; url?: string };
              res?: { statusCode: number };
            },
        );
        const ids = records
          .filter((r) => r.req?.method === 'POST' && r.req?.url === '/api/auth/logout')
          .map((r) => r.reqId);
        return records.filter((r) => ids.includes(r.reqId) && r.res).map((r) => r.res!.statusCode);
      };
      await expect.poll(answered).toEqual([403]);
      // Still signed in: the request was refused before it could sign the browser out.
      const session = await page.request.get(`${billed.url}/api/auth/session`);
      expect(await session.json()).toEqual({
        signedIn: true,
        user: { email: 'grace@example.test', name: null },
      });
    } finally {
      elsewhere.closeAllConnections();
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });
});
