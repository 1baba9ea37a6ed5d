import type { FastifyInstance } from 'fastify';
import type { RanJob } from '../../src/jobs/queue.js';

/**
 * Runs the app's pending background jobs in the test's own flow, deterministically: no worker polling, no
 * timers, no sleeps. Runs every due job of queue `name` (every registered queue without it), including
 * jobs those handlers send, until none is left, and resolves with what ran in order.
 *
 * Apps built by `buildTestApp` have `FLEECE_WORKERS=off`, so nothing else takes the jobs. Pass
 * `{ includeDelayed: true }` to run jobs waiting for `startAfter` or a retry delay too (retries then run to
 * exhaustion). Time in handlers is the app's clock (`app.clock`), so a fake clock set before the call is
 * what they see.
 *
 * @example
 * await app.jobs.send('account.purge', { userId });
 * const ran = await runJobs(app, 'account.purge');
 * expect(ran).toEqual([expect.objectContaining({ outcome: 'completed' })]);
 */
export function runJobs(
  app: FastifyInstance,
  name?: string,
  options: { includeDelayed?: boolean; maxJobs?: number } = {},
): Promise<RanJob[]> {
  return app.jobs.runPending({ ...options, name });
}
