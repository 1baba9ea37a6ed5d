import { CliError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { ExecutionsOptions } from './index.js';
import { printExecution } from './shared.js';

/** A 404 names the execution id and where to see them. */
export const notFoundHint = messages.executionNotFoundHint;

/**
 * Runs `fleece executions get <id>`; with `--wait`, follows the execution's event stream until it ends
 * (resuming after a dropped connection), prints it, and exits 1 when it did not succeed.
 */
export async function run(inv: Invocation, options: ExecutionsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  let execution = await session.call('GET /api/v1/executions/:id', (client) =>
    client.executions.get(id!, { signal: inv.ctx.signal }),
  );
  if (!options.wait) return printExecution(inv, execution, options.json);
  if (execution.status === 'queued' || execution.status === 'running') {
    const spinner = await inv.out.spinner(messages.waitingForExecution(execution.id));
    try {
      const client = await session.client();
      const stream = await client.executions.events(execution.id, { signal: inv.ctx.signal });
      execution = await stream.finalExecution();
    } finally {
      spinner.stop();
    }
  }
  printExecution(inv, execution, options.json);
  if (execution.status !== 'succeeded') {
    throw new CliError(messages.executionEnded(execution.id, execution.status), {
      hint: execution.flowId && !execution.parentId ? messages.stepsHint(execution.id) : undefined,
    });
  }
}
