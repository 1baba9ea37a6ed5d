import type { Execution } from '@fleece/sdk';
import { InterruptedError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import type { Spinner } from '../../lib/output.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { sleep } from '../../lib/sleep.js';
import { messages, selectFlags } from '../../messages.js';
import type { FlowsOptions } from './index.js';
import { readStdin, runFailed } from './shared.js';

/** A 404 names the flow's id or name and where to see them. */
export const notFoundHint = messages.flowNotFoundHint;

/** How often the spinner asks which step a run is on, in ms. */
export const STEP_POLL_MS = 1_000;

/**
 * Keeps `spinner` on the step `run` is at (`step 2 of 3 (summarize): running`), asking for its steps
 * (`GET /api/v1/executions?parentId=`) every {@link STEP_POLL_MS} until `signal` aborts. A failed look is
 * skipped: the spinner is decoration, the run's event stream says how it ends.
 */
async function followSteps(
  session: ApiSession,
  run: Execution,
  spinner: Spinner,
  signal: AbortSignal,
): Promise<void> {
  const quiet = { signal, maxRetries: 0 };
  let total: number | undefined;
  if (run.flowId) {
    const flowId = run.flowId;
    total = await session
      .call('GET /api/v1/flows/:id', (client) => client.flows.get(flowId, quiet))
      .then((flow) => flow.steps.length)
      .catch(() => undefined);
  }
  while (!signal.aborted) {
    try {
      const page = await session.call('GET /api/v1/executions?parentId=', (client) =>
        client.executions.list({ parentId: run.id, limit: 100 }, quiet),
      );
      const steps = [...page.data].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const current = steps.at(-1);
      if (current?.step) {
        spinner.update(messages.runAtStep(run.id, steps.length, total, current.step, current.status));
      }
    } catch {
      if (signal.aborted) return;
    }
    await sleep(STEP_POLL_MS, signal).catch(() => {});
  }
}

/**
 * Runs `fleece flows trigger <id|name>`: queues a run and prints its id; with `--wait`, follows the run's
 * event stream until it ends and prints its output (exit 1 when it failed or was cancelled, naming the
 * step). While it waits, stderr names the run; on a terminal a spinner shows its current step. Ctrl+C
 * stops waiting (exit 130) and says that the run goes on, with the command that follows it.
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
  const flags = selectFlags(session.server, inv.profile, inv.serverSourceIsDefault);
  const spinner = await inv.out.spinner(messages.runWaiting(queued.id), { announce: true });
  const polling = new AbortController();
  const steps = inv.out.live
    ? followSteps(session, queued, spinner, AbortSignal.any([polling.signal, inv.ctx.signal]))
    : undefined;
  let finished: Execution;
  try {
    const client = await session.client();
    const stream = await client.executions.events(queued.id, { signal: inv.ctx.signal });
    finished = await stream.finalExecution();
  } catch (error) {
    if (inv.ctx.signal.aborted) {
      throw new InterruptedError({
        message: messages.runGoesOn(queued.id),
        hint: messages.runFollowHint(queued.id, flags),
        cause: error,
      });
    }
    throw error;
  } finally {
    polling.abort();
    await steps;
    spinner.stop();
  }
  if (options.json) {
    inv.out.json(finished);
    if (finished.status !== 'succeeded') throw runFailed(finished);
    return;
  }
  if (finished.status !== 'succeeded') throw runFailed(finished);
  inv.out.data(finished.output ?? '');
}
