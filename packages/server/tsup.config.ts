import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node22',
  splitting: true,
  // Workspace packages are bundled from their sources; npm dependencies stay external.
  noExternal: ['@fleece/sdk'],
  esbuildOptions(options) {
    options.conditions = ['@fleece/source'];
  },
});
