import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece agents` subcommands (each takes the ones it declares). */
export interface AgentsOptions {
  json?: boolean;
  limit?: string;
  name?: string;
  description?: string;
  instructions?: string;
  model?: string;
  temperature?: string;
  maxOutputTokens?: string;
  stream?: boolean;
  input?: string;
  yes?: boolean;
}

/** `fleece agents`: list, create, get, update, delete and run agents. */
const agents: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('agents')
      .summary('manage and run agents: list, create, get, update, delete, run')
      .description('Manage your agents (a system prompt with a model) and run them.');
    const list = group
      .command('list')
      .summary('list your agents, newest first')
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON')
      .action(lazyAction<AgentsOptions>(ctx, () => import('./list.js')));
    withExamples(list, [['fleece agents list --json | jq -r ".data[].id"', 'the ids, for a script']]);
    const fields = (command: ReturnType<typeof group.command>) =>
      command
        .option('--description <text>', 'what the agent is for')
        .option('--instructions <text>', 'the system prompt')
        .option('--model <id>', 'a model of `GET /api/v1/models` (default: the server’s default model)')
        .option('--temperature <t>', 'sampling temperature, 0–2')
        .option('--max-output-tokens <n>', 'upper bound on generated tokens')
        .option('--json', 'print the agent as JSON');
    const create = fields(
      group.command('create').summary('create an agent').requiredOption('--name <name>', 'the agent’s name'),
    ).action(lazyAction<AgentsOptions>(ctx, () => import('./create.js')));
    withExamples(create, [
      ['fleece agents create --name triage --instructions "Label the issue."', 'a new agent'],
    ]);
    const get = group
      .command('get')
      .summary('show an agent')
      .argument('<id|name>', 'the agent id (agt_…) or exact name')
      .option('--json', 'print the agent as JSON')
      .action(lazyAction<AgentsOptions>(ctx, () => import('./get.js')));
    withExamples(get, [['fleece agents get agt_123', 'the agent’s settings']]);
    const update = fields(
      group
        .command('update')
        .summary('change an agent')
        .argument('<id|name>', 'the agent id (agt_…) or exact name')
        .option('--name <name>', 'a new name'),
    ).action(lazyAction<AgentsOptions>(ctx, () => import('./update.js')));
    withExamples(update, [['fleece agents update agt_123 --temperature 0.2', 'change one setting']]);
    const remove = group
      .command('delete')
      .summary('delete an agent (its executions stay)')
      .description(
        'Delete an agent. Its executions stay. On a terminal it asks first; without one (CI, a pipe) pass ' +
          '--yes, or it exits 2 and sends nothing.',
      )
      .argument('<id|name>', 'the agent id (agt_…) or exact name')
      .option('-y, --yes', 'delete without asking')
      .action(lazyAction<AgentsOptions>(ctx, () => import('./delete.js')));
    withExamples(remove, [
      ['fleece agents delete agt_123', 'asks, then deletes it'],
      ['fleece agents delete triage --yes', 'by name, without a prompt (CI)'],
    ]);
    const run = group
      .command('run')
      .summary('run an agent on an input and print its output')
      .description(
        'Run an agent on an input and print its output. The agent is its id or its exact name (a name ' +
          'several agents share exits 2, listing their ids). The input is --input <text>, or the argument ' +
          'after the agent; `-` (for either), or no input with stdin piped, reads standard input. Ctrl+C ' +
          'cancels the execution on the server.',
      )
      .argument('<id|name>', 'the agent id (agt_…) or exact name')
      .argument('[input]', 'the message the agent answers (same as --input; - reads stdin)')
      .option('--input <text>', 'the message the agent answers; - reads it from stdin')
      .option('--stream', 'print the output as it is generated')
      .option('--json', 'print the finished execution as JSON')
      .action(lazyAction<AgentsOptions>(ctx, () => import('./run.js')));
    withExamples(run, [
      ['fleece agents run agt_123 --input "Summarise this"', 'the output'],
      ['fleece agents run summariser - < notes.txt', 'by name, the input from a file'],
      ['git log -5 | fleece agents run summariser', 'piped input'],
      ['fleece agents run agt_123 "Hi" --stream', 'the output as it is generated'],
    ]);
    withExamples(group, [
      ['fleece agents create --name triage', 'create an agent'],
      ['fleece agents run triage --input "Hello"', 'run it'],
    ]);
  },
};

export default agents;
