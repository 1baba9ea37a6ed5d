import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';

/** Runs `fleece agents delete <id>`. */
export async function run(inv: Invocation, _options: AgentsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  await session.call('DELETE /api/v1/agents/:id', (client) =>
    client.agents.delete(id!, { signal: inv.ctx.signal }),
  );
  inv.out.success(`Deleted agent ${id}.`);
}
