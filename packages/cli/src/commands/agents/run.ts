import { CliError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';

/** Runs `fleece agents run <id> <input>`: prints the output (as it arrives with `--stream`). */
export async function run(inv: Invocation, options: AgentsOptions, [id, input]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  if (options.stream && !options.json) {
    const client = await session.client();
    const stream = await client.agents.execute(
      id!,
      { input: input!, stream: true },
      { signal: inv.ctx.signal },
    );
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
    client.agents.execute(id!, { input: input! }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json(execution);
  if (execution.status !== 'succeeded') {
    throw new CliError(
      `Execution ${execution.id} ${execution.status}${execution.error ? `: ${execution.error.message}` : ''}`,
    );
  }
  inv.out.data(execution.output ?? '');
}
