import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';
import { agentFields, printAgent } from './shared.js';

/** Runs `fleece agents update <id>`. */
export async function run(inv: Invocation, options: AgentsOptions, [id]: string[]): Promise<void> {
  const fields = agentFields(options);
  if (Object.keys(fields).length === 0)
    throw new ValidationError('Name at least one field to change (see --help).');
  const session = await ApiSession.open(inv);
  const agent = await session.call('PATCH /api/v1/agents/:id', (client) =>
    client.agents.update(id!, fields, { signal: inv.ctx.signal }),
  );
  printAgent(inv, agent, options.json);
}
