import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { ExecutionsOptions } from './index.js';
import { printExecution } from './shared.js';

/** Runs `fleece executions get <id>`. */
export async function run(inv: Invocation, options: ExecutionsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const execution = await session.call('GET /api/v1/executions/:id', (client) =>
    client.executions.get(id!, { signal: inv.ctx.signal }),
  );
  printExecution(inv, execution, options.json);
}
