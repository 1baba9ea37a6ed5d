#!/usr/bin/env node
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`fleece: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
