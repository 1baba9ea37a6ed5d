import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { FlowsOptions } from './index.js';
import { printFlow } from './shared.js';

/** Runs `fleece flows get <id>`. */
export async function run(inv: Invocation, options: FlowsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const flow = await session.call('GET /api/v1/flows/:id', (client) =>
    client.flows.get(id!, { signal: inv.ctx.signal }),
  );
  printFlow(inv, flow, options.json);
}
