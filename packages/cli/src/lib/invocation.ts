import type { Command } from 'commander';
import { readConfig } from './config.js';
import type { Context } from './context.js';
import { Credentials } from './credentials/index.js';
import { readEnv } from './env.js';
import { Output } from './output.js';
import { parseMaxWait } from './rate-limit.js';
import { checkProfile, DEFAULT_PROFILE, DEFAULT_SERVER, normalizeServer } from './server.js';

/** The options every command accepts (defined on the program, usable after the command name too). */
export interface GlobalOptions {
  server?: string | undefined;
  profile?: string | undefined;
  color: boolean;
  quiet?: boolean | undefined;
  verbose?: boolean | undefined;
  /** `--max-wait`: the longest wait for a rate limit (a duration such as `10s`). */
  maxWait?: string | undefined;
}

/** Where the server address came from, by precedence. */
export type ServerSource = 'flag' | 'env' | 'config' | 'default';

/**
 * One run of one command: the context, the parsed global options, the output, and lazily resolved
 * server, profile and credential stores.
 */
export class Invocation {
  readonly ctx: Context;
  readonly out: Output;
  readonly globals: GlobalOptions;
  /** The root `fleece` command (for `completion`). */
  readonly program: Command;
  /** The profile: `--profile`, else `FLEECE_PROFILE`, else `default`. */
  readonly profile: string;
  /** `--max-wait` in ms, when given (see `lib/rate-limit.ts`). */
  readonly maxWaitMs: number | undefined;
  #server: { url: string; source: ServerSource } | undefined;
  #credentials: Promise<Credentials> | undefined;

  constructor(ctx: Context, command: Command) {
    this.ctx = ctx;
    let root = command;
    while (root.parent) root = root.parent;
    this.program = root;
    this.globals = command.optsWithGlobals() as GlobalOptions;
    this.out = new Output(ctx, {
      color: this.globals.color !== false,
      quiet: Boolean(this.globals.quiet),
      verbose: Boolean(this.globals.verbose),
    });
    this.profile = checkProfile(this.globals.profile ?? readEnv(ctx, 'FLEECE_PROFILE') ?? DEFAULT_PROFILE);
    this.maxWaitMs = parseMaxWait(this.globals.maxWait);
  }

  /**
   * The server to talk to: `--server`, else `FLEECE_BASE_URL`, else the server this profile last logged
   * in to (config.json), else {@link DEFAULT_SERVER}.
   * @throws {ValidationError} (exit 2) for a malformed address.
   */
  async server(): Promise<{ url: string; source: ServerSource }> {
    if (this.#server) return this.#server;
    const flag = this.globals.server;
    const env = readEnv(this.ctx, 'FLEECE_BASE_URL');
    if (flag !== undefined) this.#server = { url: normalizeServer(flag, '--server'), source: 'flag' };
    else if (env) this.#server = { url: normalizeServer(env, 'FLEECE_BASE_URL'), source: 'env' };
    else {
      const saved = (await readConfig(this.ctx)).profiles[this.profile]?.server;
      this.#server = saved
        ? { url: normalizeServer(saved, 'config.json'), source: 'config' }
        : { url: DEFAULT_SERVER, source: 'default' };
    }
    return this.#server;
  }

  /** Whether the server is the default one, so hints need not repeat `--server`. */
  get serverSourceIsDefault(): boolean {
    return this.#server?.source !== 'flag';
  }

  /** The credential stores (keychain and file), opened once. */
  credentials(): Promise<Credentials> {
    this.#credentials ??= Credentials.open(this.ctx);
    return this.#credentials;
  }
}

/** Builds the {@link Invocation} of a command that is about to run. */
export function createInvocation(ctx: Context, command: Command): Invocation {
  return new Invocation(ctx, command);
}
