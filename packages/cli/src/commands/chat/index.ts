import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece chat`. */
export interface ChatOptions {
  agent?: string;
  model?: string;
  conversation?: string;
  message?: string;
  json?: boolean;
}

/** `fleece chat`: talk to a model (or an agent's instructions) in the terminal, or one turn from a pipe. */
const chat: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('chat')
      .summary('chat with a model or an agent: interactive on a terminal, one turn from a pipe')
      .description(
        'Chat from the terminal. On a terminal it asks for each message and streams each reply as it is ' +
          'generated (type /exit or press Ctrl+C to leave). With standard input piped, or --message, it ' +
          'sends that one message, streams the reply to standard output and exits. The conversation id ' +
          'goes to standard error; --conversation continues one. Each reply counts as one execution of ' +
          'your plan.',
      )
      .option('--agent <id|name>', "use an agent's instructions (as the system message) and model")
      .option(
        '--model <id>',
        'the model, from `GET /api/v1/models` (default: the agent’s, else the server’s)',
      )
      .option('--conversation <id>', 'continue an earlier conversation')
      .option('-m, --message <text>', 'send this one message instead of reading it')
      .option('--json', 'one turn, no streaming: print the reply as JSON')
      .action(lazyAction<ChatOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece chat', 'an interactive chat with the default model'],
      ['fleece chat --agent agt_123', "chat under an agent's instructions"],
      ['fleece chat --agent triage', 'the same, the agent by its exact name'],
      ['git diff | fleece chat --model gpt-4o-mini', 'one turn: the reply streams to stdout'],
      ['fleece chat -m "Hello" --json | jq -r .message.content', 'one turn, for a script'],
    ]);
  },
};

export default chat;
