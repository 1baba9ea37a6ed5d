import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const depcruise = join(root, 'node_modules/.bin/depcruise');
const config = join(root, '.dependency-cruiser.cjs');
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;

/** One broken rule as dependency-cruiser's JSON reporter lists it. */
interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** What one run found: the violations and every module it read. */
interface Cruise {
  violations: { rule: string; from: string; to: string }[];
  modules: string[];
}

/** Runs dependency-cruiser with `args` in `cwd` and reads its JSON report (that reporter always exits 0). */
function cruise(cwd: string, args: string[]): Cruise {
  const run = spawnSync(depcruise, [...args, '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  const report = JSON.parse(run.stdout) as {
    summary: { violations: Violation[] };
    modules: { source: string }[];
  };
  return {
    violations: report.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to })),
    modules: report.modules.map((m) => m.source),
  };
}

/** The arguments `pnpm lint` gives depcruise (its `lint:deps` script), without the command itself. */
function lintArgs(): string[] {
  const [command, ...args] = scripts['lint:deps']!.split(/\s+/);
  expect(command).toBe('depcruise');
  return args;
}

/** Writes `files` (path → content) under `dir`. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

describe('the dependency rules (.dependency-cruiser.cjs, run by pnpm lint)', () => {
  it('are part of pnpm lint, next to biome', () => {
    expect(scripts.lint).toBe('biome check . && pnpm run lint:deps');
    expect(lintArgs()).toEqual([
      '--config',
      '.dependency-cruiser.cjs',
      'packages/server/src',
      'packages/sdk/src',
      'packages/cli/src',
    ]);
  });

  it('pass on the repository, having read every package and resolved the workspace imports', () => {
    const result = cruise(root, lintArgs());
    expect(result.violations).toEqual([]);
    // A resolution that silently failed would leave these out and every rule vacuously true.
    expect(result.modules).toEqual(
      expect.arrayContaining([
        'packages/server/src/app.ts',
        'packages/server/src/modules/identity/plugin.ts',
        'packages/server/src/plugins/rate-limit.ts',
        'packages/sdk/src/contract/index.ts',
        'packages/cli/src/main.ts',
      ]),
    );
  });

  it('fail pnpm lint on a module that imports a plugin, added to a copy of the real tree', () => {
    // A copy, so that nothing reading the repository meanwhile (other test projects run at once) sees it.
    const dir = mkdtempSync(join(tmpdir(), 'fleece-depcruise-'));
    try {
      for (const pkg of ['server', 'sdk', 'cli']) {
        cpSync(join(root, `packages/${pkg}/src`), join(dir, `packages/${pkg}/src`), { recursive: true });
        symlinkSync(join(root, `packages/${pkg}/node_modules`), join(dir, `packages/${pkg}/node_modules`));
      }
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
      cpSync(config, join(dir, '.dependency-cruiser.cjs'));
      const probe = 'packages/server/src/modules/health/layering-probe.ts';
      writeTree(dir, {
        [probe]:
          "import type { RateLimitStore } from '../../plugins/rate-limit.js';\n\n/** A deliberate violation. */\nexport type Probe = RateLimitStore;\n",
      });
      // Exactly what `pnpm lint` runs after biome: its text reporter, whose exit status is the error count.
      const run = spawnSync(depcruise, lintArgs(), { cwd: dir, encoding: 'utf8' });
      expect(run.stdout).toContain(
        `error modules-not-to-plugins: ${probe} → packages/server/src/plugins/rate-limit.ts`,
      );
      expect(run.stdout).toContain('x 1 dependency violations (1 errors, 0 warnings).');
      expect(run.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('report each layering rule, and a cycle of value imports but not one of type imports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleece-depcruise-'));
    const server = 'packages/server/src';
    try {
      writeTree(dir, {
        [`${server}/plugins/web.ts`]: 'export const web = 1;\n',
        [`${server}/plugins/auth.ts`]:
          "import { catalogue } from '../modules/plans/catalogue.js';\nimport type { Plan } from '../modules/plans/types.js';\nexport const auth: Plan = catalogue;\n",
        [`${server}/modules/plans/catalogue.ts`]:
          "import { web } from '../../plugins/web.js';\nexport const catalogue = web;\n",
        [`${server}/modules/plans/types.ts`]: 'export type Plan = number;\n',
        [`${server}/config.ts`]: "import { web } from './plugins/web.js';\nexport const config = web;\n",
        [`${server}/lib/clock.ts`]:
          "import { catalogue } from '../modules/plans/catalogue.js';\nexport const clock = catalogue;\n",
        [`${server}/db/a.ts`]: "import { b } from './b.js';\nexport const a = b;\n",
        [`${server}/db/b.ts`]: "import { a } from './a.js';\nexport const b = () => a;\n",
        [`${server}/db/c.ts`]: "import type { D } from './d.js';\nexport type C = D;\n",
        [`${server}/db/d.ts`]: "import type { C } from './c.js';\nexport type D = C | number;\n",
        'packages/sdk/src/client.ts':
          "import { config } from '../../server/src/config.js';\nexport const client = config;\n",
        'packages/cli/src/main.ts':
          "import { client } from '../../sdk/src/client.js';\nimport { web } from '../../server/src/plugins/web.js';\nexport const main = [client, web];\n",
      });
      const result = cruise(dir, ['--config', config, server, 'packages/sdk/src', 'packages/cli/src']);
      const found = (rule: string) =>
        result.violations.filter((v) => v.rule === rule).map((v) => `${v.from} → ${v.to}`);
      expect(found('modules-not-to-plugins')).toEqual([
        `${server}/modules/plans/catalogue.ts → ${server}/plugins/web.ts`,
      ]);
      expect(found('config-not-to-plugins')).toEqual([`${server}/config.ts → ${server}/plugins/web.ts`]);
      expect(found('lower-layers-not-up')).toEqual([
        `${server}/lib/clock.ts → ${server}/modules/plans/catalogue.ts`,
      ]);
      // The value import is refused; `import type` of the module's types is how a plugin sees a module.
      expect(found('plugins-see-module-types-only')).toEqual([
        `${server}/plugins/auth.ts → ${server}/modules/plans/catalogue.ts`,
      ]);
      expect(found('sdk-not-to-server-or-cli')).toEqual([`packages/sdk/src/client.ts → ${server}/config.ts`]);
      expect(found('cli-not-to-server')).toEqual([`packages/cli/src/main.ts → ${server}/plugins/web.ts`]);
      // One report for the a ⇄ b cycle; none for c ⇄ d, whose imports are all `import type`.
      expect(found('no-circular-at-runtime')).toEqual([`${server}/db/a.ts → ${server}/db/b.ts`]);
      expect(result.violations).toHaveLength(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
