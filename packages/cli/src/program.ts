import { Command } from 'commander';
import { VERSION } from './version.js';

/**
 * Builds the `fleece` command tree. Commands load their heavy modules lazily so `fleece --version` stays
 * fast. The entry point (bin.ts) is the only place that sets the exit code.
 */
export function buildProgram(): Command {
  const program = new Command('fleece')
    .description('Work with Fleece from the terminal and from CI.')
    .version(VERSION, '-v, --version', 'print the fleece CLI version')
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: true });
  return program;
}
