import type { CreateAgentRequest } from '@fleece/sdk';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';
import { agentFields, printAgent } from './shared.js';

/** Runs `fleece agents create`. */
export async function run(inv: Invocation, options: AgentsOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const body = agentFields(options) as CreateAgentRequest;
  const agent = await session.call('POST /api/v1/agents', (client) =>
    client.agents.create(body, { signal: inv.ctx.signal }),
  );
  printAgent(inv, agent, options.json);
}
