import type { ExecutionStatus } from '@fleece/sdk';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { ExecutionsOptions } from './index.js';

/** Runs `fleece executions list`. */
export async function run(inv: Invocation, options: ExecutionsOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const query = {
    limit: Number(options.limit ?? 20),
    ...(options.agent ? { agentId: options.agent } : {}),
    ...(options.status ? { status: options.status as ExecutionStatus } : {}),
  };
  const page = await session.call('GET /api/v1/executions', (client) =>
    client.executions.list(query, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0) return inv.out.info('No executions.');
  for (const e of page.data)
    inv.out.data(`${e.id}  ${e.status.padEnd(9)}  ${e.agentId ?? '-'}  ${e.createdAt}`);
}
