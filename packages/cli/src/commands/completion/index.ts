import { Argument } from 'commander';
import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** The shells `fleece completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** `fleece completion <shell>`: prints a shell completion script. */
const completion: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('completion')
      .summary('print a shell completion script (bash, zsh, fish)')
      .description(
        'Print the completion script for a shell on stdout. It completes commands, subcommands, options ' +
          'and fixed values. Load it in the current shell, or install it as shown below.',
      )
      .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
      .action(lazyAction<Record<string, never>>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['source <(fleece completion bash)', 'bash, this shell (add it to ~/.bashrc to keep it)'],
      [
        'fleece completion zsh > ~/.zfunc/_fleece',
        'zsh, installed in a directory of $fpath (then start a new shell)',
      ],
      ['fleece completion fish > ~/.config/fish/completions/fleece.fish', 'fish, installed'],
    ]);
  },
};

export default completion;
