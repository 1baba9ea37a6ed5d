import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** The Chromium the browser tests drive: Debian's `chromium` package (`.ci/run` installs it). */
export const CHROMIUM_PATH = process.env.FLEECE_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored): `test-artifacts/web/` at the repository root. */
export const ARTIFACTS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'test-artifacts',
  'web',
);

/** What went wrong in the pages of a browser context: console errors, page errors and CSP violations. */
export interface PageProblems {
  consoleErrors: string[];
  cspViolations: string[];
  /**
   * Declares that the test expects the page to receive HTTP `status` from the API at `path` (with its
   * query), or a load of it to fail with Chromium's network error `status` (such as
   * `ERR_BLOCKED_BY_RESPONSE.NotSameOrigin`): Chromium logs every failed load as a console error, and an
   * expected refusal (a plan limit, billing switched off) is what such a test is about. Each declared load
   * must happen exactly once.
   */
  expectFailedLoad(path: string, status: number | string): void;
  /** Forgets what was recorded and declared so far (between tests). */
  reset(): void;
  /** Fails the test unless nothing but the declared failed loads was recorded. */
  expectNone(): void;
}

const FAILED_LOAD =
  /^Failed to load resource: (?:the server responded with a status of (\d{3})|net::(ERR_[A-Za-z_.]+))/;

/** A headless Chromium with a new, empty profile, and the problems its pages report. */
export interface TestBrowser {
  context: BrowserContext;
  problems: PageProblems;
  /** Opens a new tab that is watched for problems. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium headless through `playwright-core` with a fresh user-data-dir. Every page of
 * the context is watched: `console` messages of type error (which include failed loads such as a 404 and
 * Chromium's own CSP reports), uncaught page errors, and `securitypolicyviolation` events (reported from
 * an init script that Chromium injects outside the page's CSP).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Chromium with \`apt-get install -y chromium\``);
  }
  const profile = await mkdtemp(join(tmpdir(), 'fleece-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const consoleErrors: string[] = [];
  const cspViolations: string[] = [];
  const failedLoads: string[] = [];
  let expectedLoads: string[] = [];
  await context.exposeBinding('__fleeceCspViolation', (_source, text: string) => {
    cspViolations.push(text);
  });
  // Runs in every page before its own scripts (a string: the pages' globals are not Node's).
  await context.addInitScript(`
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__fleeceCspViolation(
        event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline') + ' at ' + event.documentURI,
      );
    });
  `);
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const failed = FAILED_LOAD.exec(message.text());
      const url = message.location().url;
      if (failed && url) {
        const { pathname, search } = new URL(url);
        failedLoads.push(`${failed[1] ?? failed[2]} ${pathname}${search}`);
      } else consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  const problems: PageProblems = {
    consoleErrors,
    cspViolations,
    expectFailedLoad(path, status) {
      expectedLoads.push(`${status} ${path}`);
    },
    reset() {
      consoleErrors.length = 0;
      cspViolations.length = 0;
      failedLoads.length = 0;
      expectedLoads = [];
    },
    expectNone() {
      expect(consoleErrors, 'console errors').toEqual([]);
      expect(cspViolations, 'CSP violations').toEqual([]);
      expect([...failedLoads].sort(), 'failed loads (console errors)').toEqual([...expectedLoads].sort());
    },
  };
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Screenshots `page` into {@link ARTIFACTS_DIR} as `<name>.png` and prints the path: the element
 * `selector`, else the whole page, or with `viewport` only what is on screen (for a modal dialog, which a
 * whole-page capture would draw mid-page).
 */
export async function screenshot(
  page: Page,
  name: string,
  selector?: string,
  options: { viewport?: boolean } = {},
): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path });
  else await page.screenshot({ path, fullPage: !options.viewport });
  console.log(`screenshot: ${relative(process.cwd(), path)}`);
  return path;
}

/** One rule that axe-core found broken on a page: its id, impact, summary and the elements (CSS selectors). */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (every rule of its default set: WCAG 2.0–2.2 A and AA and best practices) on `page` as it
 * is now, and returns the violations whose impact is in `impacts` (default: serious and critical).
 *
 * axe is loaded with `page.evaluate(axe.source)`, which Chromium runs through the DevTools protocol
 * (`Runtime.evaluate`) outside the page's CSP: an injected `<script>` (`page.addScriptTag`) would be refused
 * by `script-src 'self'` and reported as a violation, and `bypassCSP` would switch the CSP off for the whole
 * context, hiding the very violations the other tests look for. The page's own CSP stays in force.
 */
export async function axeViolations(
  page: Page,
  impacts: readonly string[] = ['serious', 'critical'],
): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axe.source);
  const violations = (await page.evaluate(`window.axe
    .run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact !== null && impacts.includes(v.impact));
}
