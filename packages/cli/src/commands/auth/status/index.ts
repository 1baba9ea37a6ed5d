import { type CommandModule, lazyAction, withExamples } from '../../../lib/command.js';

/** Options of `fleece auth status`. */
export interface StatusOptions {
  json?: boolean;
}

/** `fleece auth status`: user, plan, server, token expiry and where the credential is stored. */
const status: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('status')
      .summary('show who you are logged in as, and where the credential is stored')
      .description(
        'Show the account and plan your credentials belong to, the server, when the access token expires, ' +
          'and where the credential is stored: the OS keychain, the plaintext file, or an environment ' +
          'variable. Exits 3 when there are no credentials or the server refuses them.',
      )
      .option('--json', 'print the status as JSON')
      .action(lazyAction<StatusOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece auth status', 'the login for the current server'],
      ['fleece auth status --profile work --json', 'another profile, as JSON'],
    ]);
  },
};

export default status;
