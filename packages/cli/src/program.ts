import { Command } from 'commander';
import { commands } from './commands/index.js';
import { withExamples } from './lib/command.js';
import type { Context } from './lib/context.js';
import { VERSION } from './version.js';

/**
 * Builds the `fleece` command tree for `ctx`. Only command definitions (names, options, help) load here;
 * each command's implementation, the SDK and the terminal libraries load when a command runs, so
 * `fleece --version` and `--help` start fast. Errors surface as exceptions (`exitOverride`): the entry
 * point alone turns them into output and an exit code.
 */
export function buildProgram(ctx: Context): Command {
  const program = new Command('fleece')
    .description('Work with Fleece from the terminal and from CI.')
    .version(VERSION, '-v, --version', 'print the fleece CLI version')
    .option(
      '--server <url>',
      'the Fleece server (default: FLEECE_BASE_URL, else the server of your last login, else http://127.0.0.1:3000)',
    )
    .option('--profile <name>', 'the credentials profile to use (default: FLEECE_PROFILE, else "default")')
    .option('--no-color', 'print no colours (also NO_COLOR=1)')
    .option('-q, --quiet', 'print only results, warnings and errors')
    .option('--verbose', 'print request ids, timings and stack traces to stderr')
    .option(
      '--max-wait <duration>',
      'the longest wait for a rate limit before exiting 5 (e.g. 30s, 2m; 0 never waits; default 10s, 5m on a terminal)',
    )
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .showSuggestionAfterError()
    .showHelpAfterError('hint: add --help to the command for its usage and examples.')
    .exitOverride();
  for (const module of commands) module.register(program, ctx);
  withExamples(program, [
    ['fleece login', 'log in with your browser (or --device, or --with-token)'],
    ['fleece whoami', 'which account the credentials belong to'],
    ['FLEECE_API_KEY=flc_… fleece whoami --json', 'in CI: an API key, JSON output, no prompts'],
    ['fleece doctor', 'check the server, clock, keychain and proxy'],
  ]);
  program.addHelpText(
    'after',
    '\nEnvironment: FLEECE_API_KEY or FLEECE_TOKEN (override stored credentials), FLEECE_BASE_URL,\n' +
      'FLEECE_PROFILE, NO_COLOR, FORCE_COLOR, CI, BROWSER (the program that opens URLs).\n' +
      'Exit codes: 0 ok, 1 error, 2 usage or a refused value, 3 not authenticated, 4 permission or plan\n' +
      'limit, 5 rate limited, 6 not found, 7 audit log tampered with, 130 interrupted (see docs/cli.md).\n',
  );
  return program;
}
