import { type CommandModule, lazyAction, withExamples } from '../../../lib/command.js';

/** Options of `fleece auth token`. */
export interface TokenOptions {
  json?: boolean;
}

/** `fleece auth token`: prints the current access token (refreshed first if needed) for scripts. */
const token: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('token')
      .summary('print the current access token, for scripts')
      .description(
        'Print the access token fleece would send (refreshing it first when it is about to expire), or the ' +
          'API key in use, on stdout, after checking it with the server. Treat the output as a password. ' +
          'Exits 3 when there are no credentials or the server refuses them (revoked, expired or unknown).',
      )
      .option('--json', 'print the token with its type and expiry as JSON')
      .action(lazyAction<TokenOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['curl -H "Authorization: Bearer $(fleece auth token)" …', 'call the API with curl'],
      ['fleece auth token --json | jq -r .expiresAt', 'when the token expires'],
    ]);
  },
};

export default token;
