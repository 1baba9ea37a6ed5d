import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { AgentsOptions } from './index.js';

/** Runs `fleece agents list`. */
export async function run(inv: Invocation, options: AgentsOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const limit = Number(options.limit ?? 20);
  const page = await session.call('GET /api/v1/agents', (client) =>
    client.agents.list({ limit }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0)
    return inv.out.info('No agents yet. Create one with `fleece agents create --name …`.');
  for (const agent of page.data)
    inv.out.data(`${agent.id}  ${agent.name}  ${agent.model ?? '(default model)'}`);
}
