import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AgentsOptions } from './index.js';
import { agentFields, printAgent } from './shared.js';

/** A 404 names the agent's id or name and where to see them. */
export const notFoundHint = messages.agentNotFoundHint;

/** Runs `fleece agents update <id|name>`: exit 2 (nothing sent) when no field is given. */
export async function run(inv: Invocation, options: AgentsOptions, [value]: string[]): Promise<void> {
  const fields = agentFields(options);
  if (Object.keys(fields).length === 0) {
    throw new ValidationError(messages.updateNeedsField, {
      hint: messages.updateNeedsFieldHint(`fleece agents update ${value}`),
    });
  }
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'agent', value!);
  const agent = await session.call('PATCH /api/v1/agents/:id', (client) =>
    client.agents.update(id, fields, { signal: inv.ctx.signal }),
  );
  printAgent(inv, agent, options.json);
}
