import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece sessions` subcommands (each takes the ones it declares). */
export interface SessionsOptions {
  limit?: string;
  json?: boolean;
  others?: boolean;
  yes?: boolean;
}

/** `fleece sessions`: where your account is signed in, and signing those places out. */
const sessions: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('sessions')
      .summary('where you are signed in (browsers and CLIs): list, revoke')
      .description(
        'List the browser sessions and CLI logins of your account, and sign any of them out. Each ' +
          'revocation takes effect at once and is recorded in your audit log.',
      );
    const list = group
      .command('list')
      .summary('list your active sessions, newest first')
      .description(
        'One tab-separated line per session: id, kind (browser or cli), sign-in method, last use (UTC), ' +
          'IP address, user agent; `*` marks the session this command runs in.',
      )
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON ({ data, nextCursor })')
      .action(lazyAction<SessionsOptions>(ctx, () => import('./list.js')));
    withExamples(list, [['fleece sessions list --json | jq -r ".data[].id"', 'the ids, for a script']]);
    const revoke = group
      .command('revoke')
      .summary('sign one session out, or every other one with --others')
      .description(
        'Revoke one session (that browser or CLI is signed out at once), or with --others every session ' +
          'but this one. Asks for confirmation on a terminal; without one, pass --yes.',
      )
      .argument('[id]', 'the session id (ses_…), as `fleece sessions list` shows it')
      .option('--others', 'revoke every session except the one this command runs in')
      .option('-y, --yes', 'revoke without asking')
      .action(lazyAction<SessionsOptions>(ctx, () => import('./revoke.js')));
    withExamples(revoke, [
      ['fleece sessions revoke ses_123', 'sign that browser or CLI out'],
      ['fleece sessions revoke --others --yes', 'sign out everywhere else, without a prompt'],
    ]);
    withExamples(group, [
      ['fleece sessions list', 'where you are signed in'],
      ['fleece sessions revoke --others', 'sign out everywhere else'],
    ]);
  },
};

export default sessions;
