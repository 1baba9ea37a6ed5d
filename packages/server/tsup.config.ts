import { defineConfig } from 'tsup';

export default defineConfig({
  // log-pretty: the development log transport, loaded by pino in a worker thread from its own file.
  entry: { index: 'src/index.ts', bin: 'src/bin.ts', 'log-pretty': 'src/log-pretty.ts' },
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
