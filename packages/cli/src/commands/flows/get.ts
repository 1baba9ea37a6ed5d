import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { FlowsOptions } from './index.js';
import { printFlow } from './shared.js';

/** A 404 names the flow's id or name and where to see them. */
export const notFoundHint = messages.flowNotFoundHint;

/** Runs `fleece flows get <id|name>`. */
export async function run(inv: Invocation, options: FlowsOptions, [value]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'flow', value!);
  const flow = await session.call('GET /api/v1/flows/:id', (client) =>
    client.flows.get(id, { signal: inv.ctx.signal }),
  );
  printFlow(inv, flow, options.json);
}
