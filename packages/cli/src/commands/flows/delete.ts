import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { FlowsOptions } from './index.js';

/** Runs `fleece flows delete <id>`. */
export async function run(inv: Invocation, _options: FlowsOptions, [id]: string[]): Promise<void> {
  const session = await ApiSession.open(inv);
  await session.call('DELETE /api/v1/flows/:id', (client) =>
    client.flows.delete(id!, { signal: inv.ctx.signal }),
  );
  inv.out.success(`Deleted flow ${id} and its schedule.`);
}
