/**
 * The dependency rules of the repository, checked by `pnpm lint` (dependency-cruiser over the packages'
 * sources). docs/architecture.md ("Wiring and layers") explains the layers; each rule's `comment` is what a
 * violation prints.
 *
 * Server layers, bottom to top: `lib/`, `db/`, `http/`, `limits.ts`, `errors.ts` and `config.ts` (no
 * HTTP wiring, no feature); `jobs/` (the queue); `modules/<name>/` (features: services, their
 * `plugin.ts` and their routes); `plugins/` (HTTP infrastructure); `app.ts`, `server.ts`, `cli.ts`, `bin.ts`
 * (the composition root).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
const SERVER = '^packages/server/src/';

module.exports = {
  forbidden: [
    {
      name: 'modules-not-to-plugins',
      severity: 'error',
      comment:
        'A module may not import src/plugins/ (HTTP infrastructure sits above the modules). Move what it needs to a lower layer (src/http/, src/lib/, src/limits.ts) or use what a plugin decorates on the app.',
      from: { path: `${SERVER}modules/` },
      to: { path: `${SERVER}plugins/` },
    },
    {
      name: 'config-not-to-plugins',
      severity: 'error',
      comment:
        'The configuration (config.ts, limits.ts, errors.ts) sits below every plugin: move what it needs out of src/plugins/.',
      from: { path: `${SERVER}(config|limits|errors)\\.ts$` },
      to: { path: `${SERVER}plugins/` },
    },
    {
      name: 'lower-layers-not-up',
      severity: 'error',
      comment:
        'src/lib/, src/db/, src/http/ and src/jobs/ are below the features: they may not import src/modules/, src/plugins/ or the composition root.',
      from: { path: `${SERVER}(lib|db|http|jobs)/` },
      to: { path: `${SERVER}(modules/|plugins/|app\\.ts$|server\\.ts$|cli\\.ts$|bin\\.ts$)` },
    },
    {
      name: 'plugins-see-module-types-only',
      severity: 'error',
      comment:
        "A plugin uses a module's services through the app (`app.apiKeys`, decorated by the module's plugin.ts): it may import a module's types (`import type`), and the request's audit context (modules/audit/context.ts), nothing else.",
      from: { path: `${SERVER}plugins/` },
      to: {
        path: `${SERVER}modules/`,
        pathNot: `${SERVER}modules/audit/context\\.ts$`,
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'features-not-to-composition-root',
      severity: 'error',
      comment: 'Only the composition root (app.ts, server.ts, cli.ts, bin.ts, index.ts) may import app.ts.',
      from: { path: `${SERVER}(modules|plugins|lib|db|http|jobs)/` },
      to: { path: `${SERVER}(app|server|cli|bin|index)\\.ts$` },
    },
    {
      name: 'sdk-not-to-server-or-cli',
      severity: 'error',
      comment: 'The SDK is the public client: it may not depend on the server or the CLI.',
      from: { path: '^packages/sdk/src/' },
      to: { path: '^packages/(server|cli)/' },
    },
    {
      name: 'cli-not-to-server',
      severity: 'error',
      comment: 'The CLI talks to the server through the SDK only.',
      from: { path: '^packages/cli/src/' },
      to: { path: '^packages/server/' },
    },
    {
      name: 'no-circular-at-runtime',
      severity: 'error',
      comment:
        'A cycle of value imports makes module initialisation order matter. Cycles made of `import type` only are erased by the compiler (verbatimModuleSyntax) and allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A source file nothing imports and that imports nothing is dead code (or a missing import).',
      from: { orphan: true, pathNot: ['\\.d\\.ts$', '(^|/)bin\\.ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import the checker cannot resolve is invisible to every rule above: fix the import (or the resolution options below).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` edges are kept (and typed `type-only`), so the type-only exceptions above can be told apart.
    tsPreCompilationDeps: true,
    // Workspace packages resolve to their TypeScript sources, as in the tests (the `@fleece/source` condition).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@fleece/source', 'import', 'require', 'node', 'default'],
    },
  },
};
