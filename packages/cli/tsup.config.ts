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
  esbuildOptions(options) {
    options.conditions = ['@fleece/source'];
  },
});
