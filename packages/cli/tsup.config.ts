import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
  entry: { bin: 'src/bin.ts' },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node22',
  splitting: true,
  define: { __FLEECE_CLI_VERSION__: JSON.stringify(version) },
  noExternal: ['@fleece/sdk'],
  // The SDK is bundled with its dependencies, some of them CommonJS (undici) that `require()` Node's
  // built-in modules: give the ESM bundle a real `require` for them.
  banner: {
    js: "import { createRequire as __fleeceCreateRequire } from 'node:module';\nconst require = __fleeceCreateRequire(import.meta.url);",
  },
  esbuildOptions(options) {
    options.conditions = ['@fleece/source'];
  },
});
