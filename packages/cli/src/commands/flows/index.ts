import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece flows` subcommands (each takes the ones it declares). */
export interface FlowsOptions {
  json?: boolean;
  limit?: string;
  name?: string;
  description?: string;
  step?: string[];
  schedule?: string;
  scheduleInput?: string;
  callbackUrl?: string;
  file?: string;
  input?: string;
  wait?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `fleece flows`: list, get, create, delete and trigger flows. */
const flows: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('flows')
      .summary('manage and run flows: list, get, create, delete, trigger')
      .description(
        'Manage your flows (ordered steps, each an agent with an input template using {{input}} and\n' +
          '{{steps.<name>.output}}) and trigger runs of them.',
      );
    const list = group
      .command('list')
      .summary('list your flows, newest first')
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./list.js')));
    withExamples(list, [['fleece flows list --json | jq -r ".data[].id"', 'the ids, for a script']]);
    const get = group
      .command('get')
      .summary('show a flow and its steps')
      .argument('<id>', 'the flow id (flw_…)')
      .option('--json', 'print the flow as JSON')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./get.js')));
    withExamples(get, [['fleece flows get flw_123', 'its steps, schedule and callback']]);
    const create = group
      .command('create')
      .summary('create a flow from --step options or a JSON file')
      .option('--name <name>', 'the flow’s name')
      .option('--description <text>', 'what the flow is for')
      .option(
        '--step <name:agent:template>',
        'a step, in order (repeat): its name, agent id and input template, separated by the first two colons',
        collect,
      )
      .option('--schedule <cron>', 'run on this 5-field cron schedule, in UTC (e.g. "0 6 * * 1-5")')
      .option('--schedule-input <text>', 'the {{input}} of scheduled runs')
      .option('--callback-url <url>', 'POST each run’s signed result here (https)')
      .option('--file <path>', 'read the flow as JSON (the API’s create body) from a file, or - for stdin')
      .option('--json', 'print the flow as JSON')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./create.js')));
    withExamples(create, [
      [
        'fleece flows create --name review --step "draft:agt_1:Draft a reply to {{input}}" --step "polish:agt_2:Polish {{steps.draft.output}}"',
        'two steps, the second using the first’s output',
      ],
      ['fleece flows create --file flow.json', 'from a JSON definition'],
    ]);
    const remove = group
      .command('delete')
      .summary('delete a flow and its schedule (its runs stay)')
      .argument('<id>', 'the flow id (flw_…)')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./delete.js')));
    withExamples(remove, [['fleece flows delete flw_123', 'delete it']]);
    const trigger = group
      .command('trigger')
      .summary('queue a run of a flow; with --wait, wait for it and print its output')
      .argument('<id>', 'the flow id (flw_…)')
      .option('--input <text>', 'the run’s {{input}} (default: read from stdin when it is not a terminal)')
      .option('--wait', 'follow the run until it ends; exit 1 when it fails or is cancelled')
      .option('--json', 'print the run (with --wait, the finished run) as JSON')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./trigger.js')));
    withExamples(trigger, [
      ['fleece flows trigger flw_123 --input "Summarise the week"', 'queue a run, print its id'],
      ['echo "$REPORT" | fleece flows trigger flw_123 --wait', 'run on stdin, print the output'],
    ]);
    withExamples(group, [
      ['fleece flows create --name review --step "draft:agt_1:{{input}}"', 'create a flow'],
      ['fleece flows trigger flw_123 --input "Hello" --wait', 'run it and print the output'],
    ]);
  },
};

export default flows;
