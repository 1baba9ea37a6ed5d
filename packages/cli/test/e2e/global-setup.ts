import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Vitest global setup of the `cli` project: builds the CLI (`tsup`, as `pnpm --filter @fleece/cli build`
 * does) once, before any test file starts, so the end-to-end tests run the binary of the current sources.
 * Building per file raced: tsup's clean step deleted `dist/` under a test file that was running it.
 */
export default async function setup(): Promise<void> {
  const tsup = join(CLI_DIR, '..', '..', 'node_modules', 'tsup', 'dist', 'cli-default.js');
  await promisify(execFile)(process.execPath, [tsup, '--silent'], { cwd: CLI_DIR });
}
