import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece executions` subcommands. */
export interface ExecutionsOptions {
  json?: boolean;
  limit?: string;
  agent?: string;
  status?: string;
}

/** `fleece executions`: list, show and cancel executions. */
const executions: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('executions')
      .summary('inspect runs of your agents: list, get, cancel')
      .description('List, show and cancel executions (runs of your agents).');
    const list = group
      .command('list')
      .summary('list your executions, newest first')
      .option('--agent <id>', 'only this agent’s')
      .option('--status <status>', 'only these: queued, running, succeeded, failed, cancelled')
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON')
      .action(lazyAction<ExecutionsOptions>(ctx, () => import('./list.js')));
    withExamples(list, [['fleece executions list --status failed', 'what failed lately']]);
    const get = group
      .command('get')
      .summary('show an execution, with its input and output')
      .argument('<id>', 'the execution id (exe_…)')
      .option('--json', 'print the execution as JSON')
      .action(lazyAction<ExecutionsOptions>(ctx, () => import('./get.js')));
    withExamples(get, [['fleece executions get exe_123 --json | jq -r .output', 'the output']]);
    const cancel = group
      .command('cancel')
      .summary('cancel a queued or running execution')
      .argument('<id>', 'the execution id (exe_…)')
      .option('--json', 'print the execution as JSON')
      .action(lazyAction<ExecutionsOptions>(ctx, () => import('./cancel.js')));
    withExamples(cancel, [['fleece executions cancel exe_123', 'stop it']]);
    withExamples(group, [['fleece executions list --agent agt_123', 'one agent’s runs']]);
  },
};

export default executions;
