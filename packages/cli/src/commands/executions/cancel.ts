import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { ExecutionsOptions } from './index.js';
import { printExecution } from './shared.js';

/** A 404 names the execution id and where to see them. */
export const notFoundHint = messages.executionNotFoundHint;

/** Runs `fleece executions cancel <id>`. */
export async function run(inv: Invocation, options: ExecutionsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const execution = await session.call('POST /api/v1/executions/:id/cancel', (client) =>
    client.executions.cancel(id!, { signal: inv.ctx.signal }),
  );
  printExecution(inv, execution, options.json);
}
