import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece logout` (none besides the global ones). */
export type LogoutOptions = Record<string, never>;

/** `fleece logout`: revokes the session on the server, then deletes the local credentials. */
const logout: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('logout')
      .summary('log out: revoke the session and delete the stored credentials')
      .description(
        'Revoke the refresh token on the server (ending the session everywhere), then delete the stored ' +
          'credentials of this server and profile from the keychain and the plaintext file. If the server ' +
          'cannot be reached, the local credentials are deleted anyway and fleece exits 1. A stored API key ' +
          'is only deleted locally: revoke the key itself on the web app. Exits 3 when not logged in.',
      )
      .action(lazyAction<LogoutOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece logout', 'log out of the current server'],
      ['fleece logout --profile work', 'log out of the profile "work"'],
    ]);
  },
};

export default logout;
