import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AgentsOptions } from './index.js';
import { printAgent } from './shared.js';

/** A 404 names the agent's id or name and where to see them. */
export const notFoundHint = messages.agentNotFoundHint;

/** Runs `fleece agents get <id|name>`. */
export async function run(inv: Invocation, options: AgentsOptions, [value]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'agent', value!);
  const agent = await session.call('GET /api/v1/agents/:id', (client) =>
    client.agents.get(id, { signal: inv.ctx.signal }),
  );
  printAgent(inv, agent, options.json);
}
