import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';
import { printAgent } from './shared.js';

/** Runs `fleece agents get <id>`. */
export async function run(inv: Invocation, options: AgentsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const agent = await session.call('GET /api/v1/agents/:id', (client) =>
    client.agents.get(id!, { signal: inv.ctx.signal }),
  );
  printAgent(inv, agent, options.json);
}
