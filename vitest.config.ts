import type { TestProjectInlineConfiguration } from 'vitest/config';
import { configDefaults, defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the `@fleece/source` export condition),
// so the suite needs no build step. These are Vite's default server conditions plus ours.
const conditions = ['@fleece/source', 'module', 'node', 'development|production'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: ['@fleece/source'] } };

/**
 * Server tests run once per database backend: always on PGlite (in memory), and on real PostgreSQL as
 * well when TEST_DATABASE_URL is set. The backend is passed to the test helper through FLEECE_TEST_DB.
 */
function serverProject(backend: 'pglite' | 'postgres'): TestProjectInlineConfiguration {
  return {
    resolve,
    ssr,
    test: {
      name: `server:${backend}`,
      include: ['packages/server/test/**/*.test.ts'],
      // The browser tests are their own project (`web`), run once.
      exclude: [...configDefaults.exclude, 'packages/server/test/web/**'],
      env: { FLEECE_TEST_DB: backend },
      // One migrated PGlite instance per worker is cloned for each app; that cache must outlive a file.
      isolate: false,
      pool: 'forks',
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
}

export default defineConfig({
  test: {
    // CI sets VITEST_JSON_REPORT to a file path to get a machine-readable summary beside the usual output.
    reporters: process.env.VITEST_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ['default'],
    projects: [
      {
        resolve,
        ssr,
        test: { name: 'sdk', include: ['packages/sdk/test/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'cli',
          include: ['packages/cli/test/**/*.test.ts'],
          // Builds the CLI once for the end-to-end tests, before any file runs.
          globalSetup: ['packages/cli/test/e2e/global-setup.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // The repository's own scripts (scripts/): the Node.js check of `pnpm install`, the build check of
        // `pnpm start`; and the pure parts of the benchmarks' harness (bench/).
        test: {
          name: 'scripts',
          include: ['scripts/test/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
      serverProject('pglite'),
      {
        // The web pages in headless Chromium (Debian's chromium, through playwright-core) against a real
        // server on in-memory PGlite: once, not per database backend, since the pages only see the API.
        resolve,
        ssr,
        test: {
          name: 'web',
          include: ['packages/server/test/web/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // A page reacts within milliseconds when alone, but CI runs every project at once on two cores.
          expect: { poll: { timeout: 10_000, interval: 50 } },
        },
      },
      ...(process.env.TEST_DATABASE_URL ? [serverProject('postgres')] : []),
      // Two built `fleece-server` processes on PostgreSQL and Redis behind nginx (issue 11); `.ci/run` runs
      // it after `pnpm test` with FLEECE_SCALE_OUT=1, once `pnpm build` has made the binaries.
      ...(process.env.FLEECE_SCALE_OUT === '1'
        ? [
            {
              resolve,
              ssr,
              test: {
                name: 'scale-out',
                include: ['packages/server/e2e/**/*.e2e.test.ts'],
                testTimeout: 300_000,
                hookTimeout: 180_000,
              },
            },
          ]
        : []),
    ],
  },
});
