import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece flows` subcommands (each takes the ones it declares). */
export interface FlowsOptions {
  json?: boolean;
  limit?: string;
  name?: string;
  description?: string;
  step?: string[];
  /** A cron expression, or `false` for `--no-schedule` (update). */
  schedule?: string | false;
  scheduleInput?: string;
  /** A URL, or `false` for `--no-callback-url` (update). */
  callbackUrl?: string | false;
  yes?: boolean;
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
      .summary('manage and run flows: list, get, create, update, delete, trigger')
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
      .argument('<id|name>', 'the flow id (flw_…) or exact name')
      .option('--json', 'print the flow as JSON')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./get.js')));
    withExamples(get, [['fleece flows get flw_123', 'its steps, schedule and callback']]);
    const fields = (command: ReturnType<typeof group.command>) =>
      command
        .option('--name <name>', 'the flow’s name')
        .option('--description <text>', 'what the flow is for')
        .option(
          '--step <name:agent:template>',
          'a step, in order (repeat): its name, agent (id or exact name) and input template, separated by the first two colons',
          collect,
        )
        .option(
          '--schedule <cron>',
          "run on this cron schedule of 5 fields (minute hour day month weekday), in UTC, e.g. '0 6 * * 1-5'",
        )
        .option('--schedule-input <text>', 'the {{input}} of scheduled runs')
        .option('--callback-url <url>', 'POST each run’s signed result here (https)')
        .option('--json', 'print the flow as JSON');
    const create = fields(group.command('create').summary('create a flow from --step options or a JSON file'))
      .option('--file <path>', 'read the flow as JSON (the API’s create body) from a file, or - for stdin')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./create.js')));
    withExamples(create, [
      [
        'fleece flows create --name review --step "draft:agt_1:Draft a reply to {{input}}" --step "polish:agt_2:Polish {{steps.draft.output}}"',
        'two steps, the second using the first’s output',
      ],
      ['fleece flows create --file flow.json', 'from a JSON definition'],
    ]);
    const update = fields(
      group
        .command('update')
        .summary('change a flow (only the fields given; --step replaces every step)')
        .argument('<id|name>', 'the flow id (flw_…) or exact name'),
    )
      .option('--no-schedule', 'remove the schedule')
      .option('--no-callback-url', 'remove the callback')
      .option('--file <path>', 'read the fields to change as JSON (the API’s update body), or - for stdin')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./update.js')));
    withExamples(update, [
      ['fleece flows update flw_123 --schedule "0 6 * * 1-5"', 'weekdays at 06:00 UTC'],
      ['fleece flows update review --no-schedule', 'by name: stop scheduled runs'],
    ]);
    const remove = group
      .command('delete')
      .summary('delete a flow and its schedule (its runs stay)')
      .description(
        'Delete a flow and its schedule. Its runs stay. On a terminal it asks first; without one (CI, a ' +
          'pipe) pass --yes, or it exits 2 and sends nothing.',
      )
      .argument('<id|name>', 'the flow id (flw_…) or exact name')
      .option('-y, --yes', 'delete without asking')
      .action(lazyAction<FlowsOptions>(ctx, () => import('./delete.js')));
    withExamples(remove, [
      ['fleece flows delete flw_123', 'asks, then deletes it'],
      ['fleece flows delete review --yes', 'by name, without a prompt (CI)'],
    ]);
    const trigger = group
      .command('trigger')
      .summary('queue a run of a flow; with --wait, wait for it and print its output')
      .argument('<id|name>', 'the flow id (flw_…) or exact name')
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
