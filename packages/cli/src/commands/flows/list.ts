import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { FlowsOptions } from './index.js';

/** Runs `fleece flows list`: one line per flow (id, name, step count, schedule). */
export async function run(inv: Invocation, options: FlowsOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const limit = Number(options.limit ?? 20);
  const page = await session.call('GET /api/v1/flows', (client) =>
    client.flows.list({ limit }, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0)
    return inv.out.info('No flows yet. Create one with `fleece flows create --name … --step …`.');
  for (const flow of page.data) {
    const steps = `${flow.steps.length} step${flow.steps.length === 1 ? '' : 's'}`;
    inv.out.data(`${flow.id}  ${flow.name}  ${steps}  ${flow.schedule ?? '-'}`);
  }
}
