import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece executions` subcommands. */
export interface ExecutionsOptions {
  json?: boolean;
  limit?: string;
  agent?: string;
  status?: string;
  flow?: string;
  parent?: string;
  cursor?: string;
  wait?: boolean;
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
      .option('--agent <id|name>', 'only this agent’s (its id, or exact name)')
      .option('--flow <id|name>', 'only this flow’s runs and steps (its id, or exact name)')
      .option('--parent <id>', 'only the step executions of this flow run (exe_…)')
      .option('--status <status>', 'only these: queued, running, succeeded, failed, cancelled')
      .option('--cursor <cursor>', 'the next page: the cursor a previous page printed (nextCursor)')
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON')
      .action(lazyAction<ExecutionsOptions>(ctx, () => import('./list.js')));
    withExamples(list, [
      ['fleece executions list --status failed', 'what failed lately'],
      ['fleece executions list --agent summariser', 'one agent’s runs, by name'],
      ['fleece executions list --parent exe_123', 'the steps of a flow run'],
    ]);
    const get = group
      .command('get')
      .summary('show an execution, with its input and output')
      .argument('<id>', 'the execution id (exe_…)')
      .option('--wait', 'follow a queued or running execution until it ends (exit 1 unless it succeeded)')
      .option('--json', 'print the execution as JSON')
      .action(lazyAction<ExecutionsOptions>(ctx, () => import('./get.js')));
    withExamples(get, [
      ['fleece executions get exe_123 --json | jq -r .output', 'the output'],
      ['fleece executions get exe_123 --wait', 'wait for a queued run to end'],
    ]);
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
