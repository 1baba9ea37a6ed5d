import { CommanderError } from 'commander';
import type { Context } from './lib/context.js';
import { CliError, ExitError, InterruptedError } from './lib/errors.js';
import { ExitCode } from './lib/exit-codes.js';
import { buildProgram } from './program.js';

/** Commander's codes for help and version output, which are successes. */
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/**
 * Runs `fleece` with `argv` (as `process.argv`: node, script, arguments…) in `ctx` and resolves with the
 * exit code. It never throws and never exits the process: bin.ts sets the exit code.
 */
export async function main(argv: readonly string[], ctx: Context): Promise<number> {
  const program = buildProgram(ctx);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return ExitCode.OK;
    }
    await program.parseAsync([...argv]);
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the usage error (and the hint to add --help), or the help that a
      // command group without its subcommand prints (exit code 1 from commander: a usage error here).
      return INFORMATIONAL.has(error.code) && error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const options = program.opts() as { verbose?: boolean; color?: boolean };
    const verbose = options.verbose ?? argv.includes('--verbose');
    const color = options.color ?? !argv.includes('--no-color');
    return report(error, ctx, { verbose, color });
  }
}

/** Whether `error` is inquirer's answer to Ctrl+C (or an aborted signal) inside a prompt. */
function isPromptExit(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError';
}

/**
 * Prints an error as three lines (what happened, what to do, the request id) on stderr and returns its
 * exit code. The stack trace (with causes) is printed only under `--verbose`.
 */
async function report(
  error: unknown,
  ctx: Context,
  flags: { verbose: boolean; color: boolean },
): Promise<number> {
  let failure: CliError;
  // A command that says what Ctrl+C left behind (a flow run that goes on) keeps its words.
  if (error instanceof InterruptedError) failure = error;
  else if (ctx.signal.aborted || isPromptExit(error)) failure = new InterruptedError({ cause: error });
  else if (error instanceof CliError) failure = error;
  else {
    const { messages } = await import('./messages.js');
    const message = error instanceof Error ? error.message : String(error);
    failure = new CliError(messages.unexpected(message), { hint: messages.unexpectedHint, cause: error });
  }
  if (failure instanceof ExitError) return failure.exitCode;
  const [{ Chalk }, { colorLevel }] = await Promise.all([import('chalk'), import('./lib/color.js')]);
  const c = new Chalk({ level: colorLevel(ctx.stderr, ctx, flags.color) });
  const lines: string[] = [];
  if (failure instanceof InterruptedError) {
    lines.push(failure.message);
    if (failure.hint) lines.push(`${c.yellow('hint:')} ${failure.hint}`);
  } else {
    lines.push(`${c.red.bold('error:')} ${failure.message}`);
    if (failure.hint) lines.push(`${c.yellow('hint:')} ${failure.hint}`);
    if (failure.requestId) lines.push(`${c.dim('request id:')} ${failure.requestId}`);
  }
  if (flags.verbose) {
    for (let cause: unknown = failure.cause ?? failure, depth = 0; cause && depth < 5; depth++) {
      lines.push(c.dim(cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  ctx.stderr.write(`${lines.join('\n')}\n`);
  return failure.exitCode;
}
