import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece keys` subcommands (each takes the ones it declares). */
export interface KeysOptions {
  name?: string;
  expiresIn?: string;
  scopes?: string;
  limit?: string;
  json?: boolean;
  yes?: boolean;
}

/** `fleece keys`: create (shown once), list and revoke API keys. */
const keys: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('keys')
      .summary('manage API keys for CI and scripts: create, list, revoke')
      .description(
        'Manage your API keys (flc_…), the credential for CI pipelines and scripts (FLEECE_API_KEY). ' +
          'Creating a key needs a login (`fleece login`): API keys cannot create keys.',
      );
    const create = group
      .command('create')
      .summary('create an API key and print it (it is shown only once)')
      .description(
        'Create an API key and print it on standard output; its details and a warning go to standard ' +
          'error. The key is shown only this once: store it in your secret manager. Least privilege by ' +
          'default: without --scopes it may only read, and without --expires-in it expires in 30 days; ask ' +
          'for what the key needs. Exits 4 when the plan allows no more keys (Free allows none).',
      )
      .requiredOption('--name <name>', 'what the key is for (1–100 characters)')
      // The defaults named here are the contract's DEFAULT_API_KEY_SCOPES and DEFAULT_API_KEY_EXPIRY_DAYS,
      // written out so that --help loads no SDK; test/commands/keys.test.ts holds them to the contract.
      .option(
        '--expires-in <when>',
        'days until it expires (30d or 30, at most 365d), a future date or time such as 2027-06-30, or never (default: 30d)',
      )
      .option(
        '--scopes <list>',
        'comma-separated scopes: read, write, agents:execute, flows:trigger, audit:read, export (default: read)',
      )
      .option('--json', 'print the key and its details as JSON')
      .action(lazyAction<KeysOptions>(ctx, () => import('./create.js')));
    withExamples(create, [
      ['fleece keys create --name reader', 'read only, expires in 30 days (the defaults)'],
      [
        'fleece keys create --name ci --scopes read,agents:execute --expires-in 90d',
        'a key for CI that runs agents, for 90 days',
      ],
      ['fleece keys create --name deploy --scopes read,agents:execute --json | jq -r .key', 'for a script'],
    ]);
    const list = group
      .command('list')
      .summary('list your API keys (never their secrets)')
      .option('--limit <n>', 'how many to show (1–100)', '100')
      .option('--json', 'print the page as JSON')
      .action(lazyAction<KeysOptions>(ctx, () => import('./list.js')));
    withExamples(list, [['fleece keys list --json | jq -r ".data[].id"', 'the key ids, for a script']]);
    const revoke = group
      .command('revoke')
      .summary('revoke an API key at once')
      .description(
        'Revoke an API key: everything using it is refused from now on, on every server instance. Asks ' +
          'for confirmation on a terminal; without one, pass --yes.',
      )
      .argument('<id>', 'the key id (key_…), as `fleece keys list` shows it')
      .option('-y, --yes', 'revoke without asking')
      .action(lazyAction<KeysOptions>(ctx, () => import('./revoke.js')));
    withExamples(revoke, [['fleece keys revoke key_123 --yes', 'revoke without a prompt (CI)']]);
    withExamples(group, [
      ['fleece keys create --name ci', 'create a key (printed once)'],
      ['fleece keys list', 'your keys, newest first'],
      ['fleece keys revoke key_123', 'revoke one'],
    ]);
  },
};

export default keys;
