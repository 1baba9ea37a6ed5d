import type { ExecutionStatus } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { ExecutionsOptions } from './index.js';

/** The statuses `--status` takes (those of `Execution.status`). */
const STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/**
 * Runs `fleece executions list`: `--agent` and `--flow` take an id or an exact name (resolved through the
 * list endpoint; none exits 6, several exit 2), `--parent` a flow run's id (its step executions), `--status`
 * one status (anything else exits 2 before a request), `--cursor` the `nextCursor` of the page before.
 */
export async function run(inv: Invocation, options: ExecutionsOptions): Promise<void> {
  if (options.status !== undefined && !STATUSES.includes(options.status as ExecutionStatus)) {
    throw new ValidationError(messages.badStatus(options.status), { hint: messages.badStatusHint });
  }
  if (options.parent !== undefined && !options.parent.startsWith('exe_')) {
    throw new ValidationError(messages.badParent(options.parent), { hint: messages.badParentHint });
  }
  const session = await ApiSession.open(inv);
  const agentId = options.agent && (await resolveId(inv, session, 'agent', options.agent));
  const flowId = options.flow && (await resolveId(inv, session, 'flow', options.flow));
  const query = {
    limit: Number(options.limit ?? 20),
    ...(agentId ? { agentId } : {}),
    ...(flowId ? { flowId } : {}),
    ...(options.parent ? { parentId: options.parent } : {}),
    ...(options.status ? { status: options.status as ExecutionStatus } : {}),
    ...(options.cursor ? { cursor: options.cursor } : {}),
  };
  const page = await session.call('GET /api/v1/executions', (client) =>
    client.executions.list(query, { signal: inv.ctx.signal }),
  );
  if (options.json) return inv.out.json({ data: page.data, nextCursor: page.nextCursor });
  if (page.data.length === 0) inv.out.info('No executions.');
  for (const e of page.data) {
    const what = e.agentId ?? e.flowId ?? '-';
    const step = e.step ? `  step ${e.step}` : '';
    inv.out.data(`${e.id}  ${e.status.padEnd(9)}  ${what}  ${e.createdAt}${step}`);
  }
  if (page.nextCursor) inv.out.info(messages.moreExecutions(page.nextCursor));
}
