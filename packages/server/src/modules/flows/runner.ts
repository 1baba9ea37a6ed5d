import { EXECUTION_INPUT_MAX_CHARS, type Execution } from '@fleece/sdk/contract';
import type { FastifyBaseLogger } from 'fastify';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { SYSTEM_AUDIT_CONTEXT } from '../audit/context.js';
import type { ConsentService } from '../consents/service.js';
import type { ExecutionService } from '../executions/service.js';
import { type Outcome, TERMINAL_STATUSES } from '../executions/service.js';
import type { FlowRunJob, FlowService } from './service.js';
import { renderTemplate } from './templates.js';

/** Thrown when a step was cancelled by this instance shutting down: the job fails and is retried elsewhere. */
export class FlowRunInterrupted extends Error {
  override name = 'FlowRunInterrupted';
}

/** What {@link FlowRunner} is built from (its dependencies and settings). */
export interface FlowRunnerOptions {
  flows: FlowService;
  executions: ExecutionService;
  consents: Pick<ConsentService, 'has'>;
  clock: Clock;
  log: FastifyBaseLogger;
}

/**
 * Runs flow runs (the `flow.run` job): the steps in order, each as a child execution of its agent (one
 * unit of the monthly quota each, `agent.executed` audited with the system as actor), with the input
 * template filled from the run's input and the earlier steps' outputs. The run ends `succeeded` with the
 * last step's output and the summed token usage, `failed` naming the step that failed
 * (`error.code: step_failed` and `error.step`; or the step's agent gone, or the quota used up, with the
 * step named), or `cancelled` when the run was cancelled (its current step is cancelled with it).
 *
 * Before each step starts, the owner's `ai_processing` consent is checked again (a run queued, retried or
 * resumed after the consent was revoked fails with `consent_required`, naming the step, and sends nothing
 * to a provider), and the step's filled-in input is measured before it is built: longer than
 * `EXECUTION_INPUT_MAX_CHARS` (the execute route's limit), the run fails with `step_input_too_large`,
 * naming the step. An account that is no longer active fails the step's start (`account_pending_deletion`
 * or `forbidden`).
 *
 * Delivered at least once: a run picked up again after a worker died resumes. Steps that succeeded keep
 * their outputs, a step left queued or running by the dead worker is failed as `worker_lost`, and that step
 * runs again (counting quota again).
 */
export class FlowRunner {
  constructor(private readonly deps: FlowRunnerOptions) {}

  private async end(run: Execution, userId: string, startedAt: Date, outcome: Outcome): Promise<void> {
    await this.deps.executions.finish(
      SYSTEM_AUDIT_CONTEXT,
      userId,
      run.id,
      startedAt,
      outcome,
      undefined,
      this.deps.executions.runFinished(run, userId),
    );
  }

  /** Runs (or resumes) the flow run of `job`. Resolves when it has ended; throws only to be retried. */
  async run(job: FlowRunJob, signal?: AbortSignal): Promise<void> {
    const { userId, executionId } = job;
    let run = await this.deps.executions.get(userId, executionId);
    // A flow run is the execution without a parent and without a model of its own.
    if (!run || run.parentId || run.model !== null) return;
    if (run.status === 'queued') {
      await this.deps.executions.begin(userId, run.id);
      run = (await this.deps.executions.get(userId, executionId))!;
    }
    if (run.status !== 'running') return;
    const startedAt = run.startedAt ? new Date(run.startedAt) : this.deps.clock.now();
    // A deleted flow clears flowId on its runs (the foreign key), so a run whose flow is gone ends here.
    const flowId = run.flowId;
    const flow = flowId ? await this.deps.flows.find(userId, flowId) : undefined;
    if (!flowId || !flow) {
      await this.end(run, userId, startedAt, { status: 'failed', errorCode: 'flow_deleted' });
      return;
    }
    const previous = await this.deps.executions.children(userId, run.id);
    const outputs = new Map<string, string>();
    let inputTokens = 0;
    let outputTokens = 0;
    let last: Execution | undefined;
    for (const step of flow.steps) {
      const current = await this.deps.executions.get(userId, run.id);
      if (current?.status !== 'running') return;
      const done = previous.find((c) => c.step === step.name && c.status === 'succeeded');
      let child: Execution;
      if (done) {
        child = done;
      } else {
        for (const orphan of previous.filter(
          (c) => c.step === step.name && !TERMINAL_STATUSES.includes(c.status),
        )) {
          await this.deps.executions.finish(SYSTEM_AUDIT_CONTEXT, userId, orphan.id, this.deps.clock.now(), {
            status: 'failed',
            errorCode: 'worker_lost',
          });
        }
        const failStep = (errorCode: string) =>
          this.end(run, userId, startedAt, { status: 'failed', errorCode, failedStep: step.name });
        if (!(await this.deps.consents.has(userId, 'ai_processing'))) {
          this.deps.log.warn(
            { executionId: run.id, step: step.name },
            'flow run stopped: no ai_processing consent',
          );
          await failStep('consent_required');
          return;
        }
        const rendered = renderTemplate(step.input, run.input, outputs, EXECUTION_INPUT_MAX_CHARS);
        if ('tooLarge' in rendered) {
          this.deps.log.warn(
            {
              executionId: run.id,
              step: step.name,
              chars: rendered.tooLarge,
              limit: EXECUTION_INPUT_MAX_CHARS,
            },
            'flow run stopped: step input too large',
          );
          await failStep('step_input_too_large');
          return;
        }
        const input = rendered.text;
        let started: Awaited<ReturnType<ExecutionService['start']>>;
        try {
          started = await this.deps.executions.start(
            SYSTEM_AUDIT_CONTEXT,
            userId,
            step.agentId,
            input,
            undefined,
            {
              parentId: run.id,
              flowId,
              step: step.name,
            },
          );
        } catch (error) {
          if (!(error instanceof ProblemError)) throw error;
          // The step could not start: its agent is gone, the quota is used up, or its model is not allowed.
          await failStep(error.code === 'not_found' ? 'agent_not_found' : error.code);
          return;
        }
        await this.deps.executions.run(
          SYSTEM_AUDIT_CONTEXT,
          started.execution,
          userId,
          started.plan!,
          signal,
        );
        child = (await this.deps.executions.get(userId, started.execution.id))!;
      }
      if (child.status === 'failed') {
        await this.end(run, userId, startedAt, {
          status: 'failed',
          errorCode: 'step_failed',
          failedStep: step.name,
        });
        return;
      }
      if (child.status !== 'succeeded') {
        const now = await this.deps.executions.get(userId, run.id);
        // The run was cancelled (and this step with it): nothing more to do.
        if (now?.status !== 'running') return;
        // Only this instance stopping cancels a step of a running run: let another attempt resume it.
        throw new FlowRunInterrupted(`step "${step.name}" of ${run.id} was interrupted (${child.status})`);
      }
      outputs.set(step.name, child.output ?? '');
      inputTokens += child.usage?.inputTokens ?? 0;
      outputTokens += child.usage?.outputTokens ?? 0;
      last = child;
    }
    await this.end(run, userId, startedAt, {
      status: 'succeeded',
      output: last?.output ?? '',
      inputTokens,
      outputTokens,
    });
    this.deps.log.info(
      { executionId: run.id, flowId: run.flowId, steps: flow.steps.length },
      'flow run succeeded',
    );
  }
}
