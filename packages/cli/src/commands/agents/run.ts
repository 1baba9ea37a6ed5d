import { CliError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import { readStdin } from '../flows/shared.js';
import type { AgentsOptions } from './index.js';

/** A 404 names the agent's id or name and where to see them. */
export const notFoundHint = messages.agentNotFoundHint;

/**
 * The input of a run: `--input <text>` or the argument after the id (kept for scripts written before
 * `--input`); `-` for either, or neither with stdin piped, reads standard input (one trailing newline
 * dropped).
 *
 * @throws {ValidationError} exit 2 for both at once, an empty stdin, or no input and a terminal on stdin.
 */
export async function runInput(
  inv: Invocation,
  flag: string | undefined,
  positional: string | undefined,
  command: string,
): Promise<string> {
  if (flag !== undefined && positional !== undefined) {
    throw new ValidationError(messages.runTwoInputs, { hint: messages.runTwoInputsHint });
  }
  const given = flag ?? positional;
  if (given !== undefined && given !== '-') return given;
  if (given === undefined && inv.ctx.stdin.isTTY) {
    throw new ValidationError(messages.runNeedsInput, { hint: messages.runNeedsInputHint(command) });
  }
  const text = (await readStdin(inv)).replace(/\r?\n$/, '');
  if (!text) throw new ValidationError(messages.runEmptyInput, { hint: messages.runNeedsInputHint(command) });
  return text;
}

/**
 * Runs `fleece agents run <id|name> [input] [--input text | -]`: prints the output (as it arrives with
 * `--stream`). Ctrl+C aborts the request, which cancels the execution on the server.
 */
export async function run(
  inv: Invocation,
  options: AgentsOptions,
  [value, positional]: string[],
): Promise<void> {
  const input = await runInput(inv, options.input, positional, `fleece agents run ${value}`);
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'agent', value!);
  if (options.stream && !options.json) {
    const client = await session.client();
    const stream = await client.agents.execute(id, { input, stream: true }, { signal: inv.ctx.signal });
    let output = '';
    for await (const event of stream) {
      if (event.event === 'output.delta') {
        output += event.data.text;
        inv.ctx.stdout.write(event.data.text);
      } else if (event.event === 'execution.failed' || event.event === 'execution.cancelled') {
        if (output) inv.ctx.stdout.write('\n');
        throw new CliError(
          `Execution ${event.data.id} ${event.data.status}${event.data.error ? `: ${event.data.error.message}` : ''}`,
        );
      }
    }
    inv.ctx.stdout.write('\n');
    return;
  }
  const execution = await session.call('POST /api/v1/agents/:id/execute', (client) =>
    client.agents.execute(id, { input }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json(execution);
  if (execution.status !== 'succeeded') {
    throw new CliError(
      `Execution ${execution.id} ${execution.status}${execution.error ? `: ${execution.error.message}` : ''}`,
    );
  }
  inv.out.data(execution.output ?? '');
}
