import type { CommandModule } from '../../lib/command.js';
import { withExamples } from '../../lib/command.js';
import status from './status/index.js';
import token from './token/index.js';

/** `fleece auth`: the group of commands about the stored login (`status`, `token`). */
const auth: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('auth')
      .summary('inspect your login: status, token')
      .description(
        'Inspect the credentials fleece uses. Log in and out with `fleece login` and `fleece logout`.',
      );
    status.register(group, ctx);
    token.register(group, ctx);
    withExamples(group, [
      ['fleece auth status', 'who, which plan, which server, token expiry, where it is stored'],
      ['fleece auth token', 'print the access token for a script'],
    ]);
  },
};

export default auth;
