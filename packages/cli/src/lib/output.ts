import { Chalk, type ChalkInstance } from 'chalk';
import { colorLevel } from './color.js';
import type { Context, OutputStream } from './context.js';
import { isCI } from './env.js';

/** The global output flags. */
export interface OutputFlags {
  /** `--no-color` clears it. */
  color: boolean;
  /** `--quiet`: only data, warnings and errors. */
  quiet: boolean;
  /** `--verbose`: request ids, timings and stack traces on stderr. */
  verbose: boolean;
}

/** A progress indicator: ora on an interactive stderr, one plain line (or nothing) otherwise. */
export interface Spinner {
  /** The text shown now. */
  text(): string;
  /** Changes the text. */
  update(text: string): void;
  /** Stops and clears it. */
  stop(): void;
}

/**
 * Where a command's words go. Data (what a script reads) goes to stdout; everything about the run
 * (progress, notices, warnings, errors, verbose detail) goes to stderr, so `fleece … | jq` stays clean.
 *
 * Colour follows {@link colorLevel} for each stream. Spinners only run on a terminal outside CI; a
 * non-interactive run never gets spinner frames or ANSI codes.
 */
export class Output {
  /** Colours for stdout (identity when colour is off). */
  readonly color: ChalkInstance;
  /** Colours for stderr (identity when colour is off). */
  readonly colorErr: ChalkInstance;
  /** Whether prompts may be shown: stdin and stdout are terminals and not in CI. */
  readonly interactive: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly #stdout: OutputStream;
  readonly #stderr: OutputStream;
  readonly #spinners: boolean;
  /** The spinner running now, so a wait (a rate limit) can speak in its place. */
  #active: Spinner | undefined;

  constructor(ctx: Context, flags: OutputFlags) {
    this.#stdout = ctx.stdout;
    this.#stderr = ctx.stderr;
    this.color = new Chalk({ level: colorLevel(ctx.stdout, ctx, flags.color) });
    this.colorErr = new Chalk({ level: colorLevel(ctx.stderr, ctx, flags.color) });
    this.quiet = flags.quiet;
    this.verbose = flags.verbose;
    const ci = isCI(ctx);
    this.interactive = Boolean(ctx.stdin.isTTY && ctx.stdout.isTTY) && !ci;
    // A terminal that reports no width (an unsized pty) cannot be redrawn in place: no spinner there.
    this.#spinners =
      Boolean(ctx.stderr.isTTY && ctx.stderr.columns) && !ci && !flags.quiet && ctx.env.TERM !== 'dumb';
  }

  /**
   * Whether this run draws live progress: stderr is a terminal with a width, outside CI, without
   * `--quiet` and `TERM=dumb` (where spinners and countdowns run).
   */
  get live(): boolean {
    return this.#spinners;
  }

  /** The spinner running now, if any (see {@link spinner}). */
  get activeSpinner(): Spinner | undefined {
    return this.#active;
  }

  /** Writes data to stdout, with a newline. Never suppressed. */
  data(text: string): void {
    this.#stdout.write(`${text}\n`);
  }

  /** Writes `value` to stdout as indented JSON. Never suppressed. */
  json(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A progress or status line on stderr; `--quiet` drops it. */
  info(text: string): void {
    if (!this.quiet) this.#stderr.write(`${text}\n`);
  }

  /** `✓ text` on stderr; `--quiet` drops it. */
  success(text: string): void {
    if (!this.quiet) this.#stderr.write(`${this.colorErr.green('✓')} ${text}\n`);
  }

  /** `! text` on stderr, always (something the user must know). */
  warn(text: string): void {
    this.#stderr.write(`${this.colorErr.yellow('!')} ${text}\n`);
  }

  /** A line on stderr that must be seen even with `--quiet` (a device code, a URL to open). */
  notice(text: string): void {
    this.#stderr.write(`${text}\n`);
  }

  /** Detail for `--verbose` only, on stderr, dimmed. */
  debug(text: string): void {
    if (this.verbose) this.#stderr.write(`${this.colorErr.dim(text)}\n`);
  }

  /**
   * Starts a spinner on stderr with `text`. On a terminal outside CI it is an ora spinner; otherwise
   * nothing animates, and the text is written once as a plain line only with `announce` (for waits
   * that the user must know about, such as waiting for a browser).
   */
  async spinner(text: string, options: { announce?: boolean } = {}): Promise<Spinner> {
    if (!this.#spinners) {
      if (options.announce) this.info(text);
      let current = text;
      return {
        text: () => current,
        update: (next) => {
          current = next;
        },
        stop: () => {},
      };
    }
    const { default: ora } = await import('ora');
    const spinner = ora({
      text,
      stream: this.#stderr as NodeJS.WritableStream,
      color: this.colorErr.level > 0 ? 'cyan' : false,
      discardStdin: false,
      // This class decided that the run is live (from the context's streams and environment): ora must
      // not decide again from the process's own `CI`.
      isEnabled: true,
    }).start();
    const handle: Spinner = {
      text: () => spinner.text,
      update: (next) => {
        spinner.text = next;
        // At once, not on the next frame: a countdown must show each second as it comes.
        if (spinner.isSpinning) spinner.render();
      },
      stop: () => {
        spinner.stop();
        if (this.#active === handle) this.#active = undefined;
      },
    };
    this.#active = handle;
    return handle;
  }
}
