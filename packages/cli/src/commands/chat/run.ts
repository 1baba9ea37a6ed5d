import type { ChatMessageInput, ChatParams, Fleece } from '@fleece/sdk';
import { CliError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { ChatOptions } from './index.js';

/** Inputs that end an interactive chat. */
const EXIT_COMMANDS = new Set(['/exit', '/quit', '/q']);

/** What every turn of one chat shares: the client, the model, the agent's instructions, the conversation. */
interface Conversation {
  client: Fleece;
  model: string | undefined;
  /** The agent's instructions, sent as the system message of the first turn only. */
  system: string | undefined;
  id: string | undefined;
}

/** The body of one turn: the message, and on the first turn of an agent chat its instructions first. */
function turnBody(chat: Conversation, text: string): ChatParams {
  const model = chat.model ? { model: chat.model } : {};
  if (chat.id) return { conversationId: chat.id, message: text, ...model };
  if (!chat.system) return { message: text, ...model };
  const messages: ChatMessageInput[] = [
    { role: 'system', content: chat.system },
    { role: 'user', content: text },
  ];
  return { messages, ...model };
}

/** Sends one message and streams the reply to stdout as it is generated. */
async function streamTurn(inv: Invocation, chat: Conversation, text: string): Promise<void> {
  const stream = await chat.client.chat.create(
    { ...turnBody(chat, text), stream: true },
    { signal: inv.ctx.signal },
  );
  let wrote = false;
  try {
    for await (const event of stream) {
      if (event.event === 'conversation') chat.id = event.data.conversationId;
      else if (event.event === 'message.delta') {
        inv.ctx.stdout.write(event.data.text);
        wrote = true;
      } else if (event.event === 'error') {
        throw new CliError(messages.chatReplyFailed(event.data.code), {
          hint: messages.chatReplyFailedHint,
          requestId: stream.requestId,
        });
      }
    }
  } finally {
    if (wrote) inv.ctx.stdout.write('\n');
  }
}

/** Reads all of stdin as text. */
async function readStdin(inv: Invocation): Promise<string> {
  let text = '';
  for await (const chunk of inv.ctx.stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text;
}

/**
 * Runs `fleece chat`: one turn when a message is given (`--message`) or piped in; otherwise, on a
 * terminal, a conversation until `/exit` or Ctrl+C. Without a terminal and without input it fails with
 * exit 2 naming the ways to give a message.
 */
export async function run(inv: Invocation, options: ChatOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const signal = inv.ctx.signal;
  let system: string | undefined;
  let model = options.model;
  if (options.agent) {
    // An id or an exact name, as `fleece agents run` takes.
    const agentId = await resolveId(inv, session, 'agent', options.agent);
    const agent = await session.call('GET /api/v1/agents/:id', (client) =>
      client.agents.get(agentId, { signal }),
    );
    system = agent.instructions || undefined;
    model ??= agent.model ?? undefined;
  }
  const chat: Conversation = { client: await session.client(), model, system, id: options.conversation };

  const single = options.message ?? (inv.ctx.stdin.isTTY ? undefined : await readStdin(inv));
  if (single !== undefined) {
    const text = single.replace(/\s+$/, '');
    if (!text.trim()) {
      throw new ValidationError(messages.chatEmptyInput, { hint: messages.chatInputHint });
    }
    if (options.json) {
      const reply = await session.call('POST /api/v1/chat', (client) =>
        client.chat.create(turnBody(chat, text), { signal }),
      );
      inv.out.json(reply);
      return;
    }
    await streamTurn(inv, chat, text);
    if (chat.id) inv.out.info(messages.chatConversation(chat.id));
    return;
  }
  if (!inv.out.interactive || options.json) {
    throw new ValidationError(messages.chatNeedsInput, { hint: messages.chatInputHint });
  }

  inv.out.info(messages.chatWelcome(options.agent ?? model ?? 'the default model'));
  for (;;) {
    const text = (await inv.ctx.prompts.text({ message: messages.chatPrompt }, signal)).trim();
    if (EXIT_COMMANDS.has(text)) break;
    if (!text) continue;
    await streamTurn(inv, chat, text);
  }
  if (chat.id) inv.out.info(messages.chatConversation(chat.id));
}
