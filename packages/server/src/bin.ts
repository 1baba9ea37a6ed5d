#!/usr/bin/env node
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fleece-server: could not start: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
