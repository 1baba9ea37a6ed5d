import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece health`. */
export interface HealthOptions {
  json?: boolean;
}

/** `fleece health`: the server's health report (`GET /api/health`). No credentials needed. */
const health: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('health')
      .summary('show whether the server is up')
      .description(
        "Show the server's health: its status (ok, degraded, down), version, uptime, and its database and " +
          'migration checks. Needs no credentials. Exits 1 when the server reports that it is down.',
      )
      .option('--json', 'print the report as JSON')
      .action(lazyAction<HealthOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece health', 'check the server you use'],
      ['fleece health --server https://fleece.example.com', 'check another server'],
      ['fleece health --json | jq -r .status', 'for a monitor or a script'],
    ]);
  },
};

export default health;
