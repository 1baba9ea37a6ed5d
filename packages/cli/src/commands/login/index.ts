import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece login`. */
export interface LoginOptions {
  device?: boolean;
  withToken?: boolean;
  insecureStorage?: boolean;
  timeout: string;
}

/**
 * `fleece login`: the browser flow with a loopback redirect and PKCE (RFC 8252, RFC 7636) by default, the
 * device authorization grant (RFC 8628) with `--device` or where no browser can open, or a pasted API key
 * or token with `--with-token`.
 */
const login: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('login')
      .summary('log in to a Fleece server')
      .description(
        'Log in to a Fleece server and store the credentials in the OS keychain.\n\n' +
          'By default fleece opens your browser to sign in and receives the result on a one-time address ' +
          'on 127.0.0.1 (OAuth with PKCE). With --device, or where no browser can open (SSH, no display), ' +
          'it shows a one-time code to approve from any browser instead. --with-token reads an API key ' +
          '(flc_…) or an access token from standard input.\n\n' +
          'Without a usable keychain (headless Linux, containers) the credentials go to a plaintext file ' +
          'readable only by you; fleece asks first, and without a terminal or in CI it refuses unless ' +
          '--insecure-storage is given. Login refuses while FLEECE_API_KEY or FLEECE_TOKEN is set.',
      )
      .option('--device', 'use the device code flow: approve a one-time code from any browser')
      .option('--with-token', 'read an API key or access token from standard input')
      .option(
        '--insecure-storage',
        'allow storing credentials in a plaintext file when no keychain is available',
      )
      .option('--timeout <duration>', 'how long to wait for the browser sign-in (e.g. 90s, 5m)', '5m')
      .action(lazyAction<LoginOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece login', 'sign in with your browser'],
      ['fleece login --device', 'approve a code from another device'],
      ['fleece login --server https://fleece.example.com', 'log in to another server'],
      ['fleece login --with-token < key.txt', 'store an API key read from a file'],
      ['fleece login --profile work', 'keep a second login under the profile "work"'],
    ]);
  },
};

export default login;
