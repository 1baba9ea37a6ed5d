import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece doctor`. */
export interface DoctorOptions {
  json?: boolean;
}

/** `fleece doctor`: checks the CLI's setup and says what to fix. */
const doctor: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('doctor')
      .summary('check the setup: server, clock, credential storage, proxy')
      .description(
        'Check what fleece depends on and say what to fix: the Node.js version, whether the server answers, ' +
          "the clock's skew against the server, whether the OS keychain works, the stored credentials (and " +
          'the permissions of the plaintext file), and the proxy settings that apply to the server. ' +
          'Exits 1 when a check fails; warnings do not fail.',
      )
      .option('--json', 'print the checks as JSON')
      .action(lazyAction<DoctorOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece doctor', 'check everything for the current server'],
      ['fleece doctor --server https://fleece.example.com', 'check another server'],
      ['fleece doctor --json', 'for a support ticket or a script'],
    ]);
  },
};

export default doctor;
