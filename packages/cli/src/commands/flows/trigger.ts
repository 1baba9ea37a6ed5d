import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { FlowsOptions } from './index.js';
import { readStdin, runFailed } from './shared.js';

/** A 404 names the flow's id or name and where to see them. */
export const notFoundHint = messages.flowNotFoundHint;

/**
 * Runs `fleece flows trigger <id|name>`: queues a run and prints its id; with `--wait`, follows the run's event
 * stream until it ends and prints its output (exit 1 when it failed or was cancelled, naming the step).
 */
export async function run(inv: Invocation, options: FlowsOptions, [value]: string[]): Promise<void> {
  const input =
    options.input ?? (inv.ctx.stdin.isTTY ? undefined : (await readStdin(inv)).replace(/\n$/, ''));
  if (!input) throw new ValidationError('a run needs an input: pass --input <text>, or pipe it on stdin');
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'flow', value!);
  const queued = await session.call('POST /api/v1/flows/:id/trigger', (client) =>
    client.flows.trigger(id, { input }, { signal: inv.ctx.signal }),
  );
  if (!options.wait) {
    if (options.json) return inv.out.json(queued);
    inv.out.data(queued.id);
    inv.out.info(messages.queuedRun(queued.id));
    return;
  }
  const client = await session.client();
  const stream = await client.executions.events(queued.id, { signal: inv.ctx.signal });
  const finished = await stream.finalExecution();
  if (options.json) {
    inv.out.json(finished);
    if (finished.status !== 'succeeded') throw runFailed(finished);
    return;
  }
  if (finished.status !== 'succeeded') throw runFailed(finished);
  inv.out.data(finished.output ?? '');
}
