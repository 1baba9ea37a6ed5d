import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece whoami`. */
export interface WhoamiOptions {
  json?: boolean;
}

/** `fleece whoami`: the email address of the account the credentials belong to. */
const whoami: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('whoami')
      .summary('show which account you are using')
      .description(
        'Print the email address of the account your credentials belong to (FLEECE_API_KEY or ' +
          'FLEECE_TOKEN when set, else the stored login). Exits 3 when there are no credentials.',
      )
      .option('--json', 'print the account, plan and server as JSON')
      .action(lazyAction<WhoamiOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece whoami', 'ada@example.com'],
      ['fleece whoami --json | jq -r .user.id', 'the user id, for a script'],
    ]);
  },
};

export default whoami;
