import type { Command } from 'commander';
import type { Context } from './context.js';
import type { Invocation } from './invocation.js';

/** A command's implementation module (`run.ts` beside its `index.ts`), loaded only when it runs. */
export interface CommandImplementation<Options> {
  /** Runs the command; throws a `CliError` (or an SDK error) to fail. */
  run(inv: Invocation, options: Options, args: string[]): Promise<void>;
  /** The hint for a 404 (HTTP) of this command: which resource, and where its ids are listed. */
  notFoundHint?: string;
}

/** `fleece agents create`: the command as typed, from the root program down. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The action handler of a command whose implementation is loaded on first use, so that `fleece --help`
 * and `fleece --version` never load the SDK, chalk, ora, inquirer or the keychain binding.
 */
export function lazyAction<Options>(
  ctx: Context,
  load: () => Promise<CommandImplementation<Options>>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const [implementation, { createInvocation }] = await Promise.all([load(), import('./invocation.js')]);
    const inv = createInvocation(ctx, command);
    try {
      await implementation.run(inv, command.opts() as Options, command.args);
    } catch (error) {
      // SDK errors become CLI errors here, where the server they came from is known.
      const { fromSdkError } = await import('./sdk.js');
      const { credentialFromEnv } = await import('./env.js');
      const { selectFlags } = await import('../messages.js');
      const server = await inv.server().then(
        (s) => s.url,
        () => undefined,
      );
      throw (
        fromSdkError(error, server ?? 'the server', {
          command: commandPath(command),
          notFoundHint: implementation.notFoundHint,
          now: inv.ctx.now(),
          credential: {
            env: credentialFromEnv(inv.ctx)?.name,
            flags: server ? selectFlags(server, inv.profile, inv.serverSourceIsDefault) : '',
          },
        }) ?? error
      );
    }
  };
}

/** One example of a command's `--help`: the command line and what it does. */
export type Example = readonly [commandLine: string, what: string];

/** Adds an `Examples:` section to a command's `--help`. */
export function withExamples(command: Command, examples: readonly Example[]): Command {
  const width = Math.max(...examples.map(([line]) => line.length));
  const lines = examples.map(([line, what]) => `  $ ${line.padEnd(width)}  # ${what}`);
  return command.addHelpText('after', `\nExamples:\n${lines.join('\n')}\n`);
}

/**
 * A command module: one folder under `src/commands/`, whose `index.ts` default-exports this. Adding a
 * command (keys, agents, …) is adding its folder and one line in `commands/index.ts`.
 */
export interface CommandModule {
  /** Adds the command, its options, help and examples to `parent`. */
  register(parent: Command, ctx: Context): void;
}
