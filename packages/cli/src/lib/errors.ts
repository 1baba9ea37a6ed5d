import { ExitCode } from './exit-codes.js';

/** What a {@link CliError} carries besides its message. */
export interface CliErrorOptions {
  /** The exit code the entry point ends with. @default ExitCode.ERROR (1) */
  exitCode?: ExitCode;
  /** One line telling the user what to do next. */
  hint?: string | undefined;
  /** The `X-Request-Id` of the request that failed, for support. */
  requestId?: string | undefined;
  /** The underlying error, shown (with its stack) under `--verbose`. */
  cause?: unknown;
}

/**
 * An error meant for the person at the terminal: `message` says what happened in one line, `hint` what
 * to do in one line, `requestId` which request failed. Commands throw these; only the entry point prints
 * them and sets the exit code.
 */
export class CliError extends Error {
  override name = 'CliError';
  /** The exit code the process ends with. */
  readonly exitCode: ExitCode;
  /** What to do next, in one line. */
  readonly hint: string | undefined;
  /** The request id of the failed request, when there was one. */
  readonly requestId: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? ExitCode.ERROR;
    this.hint = options.hint;
    this.requestId = options.requestId;
  }
}

/** The command line was wrong (exit code 2): a bad flag value, a missing argument, an empty stdin. */
export class ValidationError extends CliError {
  override name = 'ValidationError';
  constructor(message: string, options: Omit<CliErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: ExitCode.USAGE });
  }
}

/** No usable credentials (exit code 3): not logged in, or the server refused the credential. */
export class NotAuthenticatedError extends CliError {
  override name = 'NotAuthenticatedError';
  constructor(message: string, options: Omit<CliErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: ExitCode.NOT_AUTHENTICATED });
  }
}

/**
 * Ctrl+C (exit code 130). Printed as its message (`Interrupted.` by default, or what goes on without
 * the command, such as a flow run) and its hint, without `error:`.
 */
export class InterruptedError extends CliError {
  override name = 'InterruptedError';
  constructor(options: Omit<CliErrorOptions, 'exitCode'> & { message?: string } = {}) {
    super(options.message ?? 'Interrupted.', { ...options, exitCode: ExitCode.INTERRUPTED });
  }
}

/**
 * Ends the command with `exitCode` and prints nothing more: the command has already said what happened
 * (for example `fleece doctor` after a failed check).
 */
export class ExitError extends CliError {
  override name = 'ExitError';
  constructor(exitCode: ExitCode) {
    super('', { exitCode });
  }
}

/** The address is not a Fleece server's (another web app answered, or it ends in `/api`): exit code 1. */
export class WrongServerError extends CliError {
  override name = 'WrongServerError';
}
