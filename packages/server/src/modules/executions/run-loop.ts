import type { Execution } from '@fleece/sdk/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/clock.js';
import { ProviderError } from '../ai/providers/errors.js';
import type { ProviderRegistry } from '../ai/providers/registry.js';
import type { ChatMessage } from '../ai/providers/types.js';
import type { AuditContext } from '../audit/service.js';
import type { EventLog, LiveRun } from './event-log.js';
import type { Leases } from './leases.js';
import type { ExecutionService } from './service.js';

/** What an execution runs: the agent's prompt and settings, captured when it was started. */
export interface RunPlan {
  messages: ChatMessage[];
  temperature: number | null;
  maxOutputTokens: number | null;
}

/** How an execution ended. */
export interface Outcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  output?: string;
  inputTokens?: number;
  outputTokens?: number;
  finishReason?: string;
  errorCode?: string;
  /** A flow run that failed in a step: that step's name. */
  failedStep?: string;
}

/** Why an execution was cancelled (the `reason` of its `execution.cancelled` audit event). */
export type CancelReason = 'cancel_route' | 'client_disconnected' | 'flow_run_cancelled';

/** One model call: the provider streams the reply as `output.delta` events. */
export interface ModelTurnStep {
  kind: 'model_turn';
  messages: ChatMessage[];
  temperature: number | null;
  maxOutputTokens: number | null;
}

/**
 * One step of a run. A run is a sequence of steps, each a kind with its own handler
 * ({@link StepHandlers}); a handler may ask for further steps ({@link StepResult.next}), which is how tool
 * calls, approvals and delegated runs join as new kinds.
 */
export type Step = ModelTurnStep;

/** The kinds of {@link Step}. */
export type StepKind = Step['kind'];

/** What a step handler may do while it runs. */
export interface StepContext {
  /** The execution the step belongs to. */
  execution: Execution;
  /** Aborted when the execution is cancelled (here, by the client going away, or elsewhere). */
  signal: AbortSignal;
  /**
   * Adds an event to the execution's log (served to streams at once, stored behind). Throws the storing
   * failure when the log could not be written; returns `false` when the execution was ended elsewhere, and
   * the step should stop.
   */
  emit(type: string, data: unknown): boolean;
}

/** How a step ended: the run's outcome when it is the last step, and the steps it asks for next. */
export interface StepResult {
  outcome: Outcome;
  /** Steps to run after this one (none: the run ends with {@link outcome}). */
  next?: Step[];
}

/** One handler per step kind. */
export type StepHandlers = {
  [K in StepKind]: (step: Extract<Step, { kind: K }>, context: StepContext) => Promise<StepResult>;
};

/** Where a step sits in its run's event log: the ids of its first and last event, and how it ended. */
export interface StepRecord {
  kind: StepKind;
  /** 1, 2, … within the run. */
  index: number;
  /** The id of the first event the step produced, or of the last before it when it produced none. */
  firstSeq: number;
  lastSeq: number;
  status: Outcome['status'];
}

/**
 * The state changes of an execution the run loop asks its service for: `begin` moves a `queued` execution
 * to `running` (its first event, `execution.started`, joins the run's events; an execution started
 * `running` skips it), `complete` ends it and stores what the run holds unstored in one transaction.
 */
export type RunTransitions = Pick<ExecutionService, 'begin' | 'complete'>;

/** What a {@link RunLoop} needs. */
export interface RunLoopOptions {
  clock: Clock;
  log: FastifyBaseLogger;
  providers: ProviderRegistry;
  events: EventLog;
  leases: Leases;
  transitions: RunTransitions;
}

/**
 * Runs executions on this instance as a sequence of steps ({@link Step}; today one model turn), each
 * producing events into the execution's log ({@link EventLog}), and ends them with the last step's outcome.
 * Cancelling (the cancel route, or the streaming client going away) aborts the step running; a batch of
 * events that finds the execution ended elsewhere stops the run at the next event.
 */
export class RunLoop {
  private readonly running = new Map<string, AbortController>();
  private readonly runs = new Set<Promise<Execution | undefined>>();
  private readonly handlers: StepHandlers;

  constructor(private readonly deps: RunLoopOptions) {
    this.handlers = { model_turn: (step, context) => this.modelTurn(step, context) };
  }

  /** Aborts the run of execution `id` on this instance, when there is one. */
  abort(id: string): void {
    this.running.get(id)?.abort();
  }

  /**
   * Runs a started execution to its end and never throws: `running` (event `execution.started`), its
   * steps, then `succeeded` / `failed` / `cancelled` with the matching event and `done`. `signal` (the
   * streaming client going away) or {@link abort} aborts the step running; the execution is then
   * `cancelled`. An execution started `running` (the service's `start`) writes nothing until its end unless
   * it outlasts `BATCH_DELAY_MS` (event-log.ts): its events are held in memory and stored with its final
   * state in one transaction. Resolves to the execution as this run ended it, or `undefined` when it
   * ended otherwise.
   */
  run(
    ctx: AuditContext,
    execution: Execution,
    userId: string,
    plan: RunPlan,
    signal?: AbortSignal,
  ): Promise<Execution | undefined> {
    const controller = new AbortController();
    const id = execution.id;
    this.running.set(id, controller);
    let reason: CancelReason | undefined;
    const onAbort = () => {
      reason ??= 'client_disconnected';
      controller.abort();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const live = this.deps.events.open(id, userId);
    this.deps.leases.hold();
    let started = execution;
    const done = (async (): Promise<Execution | undefined> => {
      // The final event is stored after every event before it, in the same transaction as the rest.
      const end = (outcome: Outcome, cancelReason?: CancelReason) =>
        this.deps.transitions.complete(ctx, started, userId, live, outcome, cancelReason);
      try {
        if (execution.status === 'running') {
          this.deps.events.produce(id, live, 'execution.started', execution);
        } else {
          const startedAt = this.deps.clock.now();
          if (!(await this.deps.transitions.begin(userId, id, startedAt, live))) return undefined;
          started = { ...execution, status: 'running', startedAt: startedAt.toISOString() };
        }
        const context: StepContext = {
          execution,
          signal: controller.signal,
          emit: (type, data) => {
            if (live.stopped) {
              if (live.failure) throw live.failure;
              // A cancel (possibly on another instance) ended the row: stop the step here.
              controller.abort();
              return false;
            }
            this.deps.events.produce(id, live, type, data);
            return true;
          },
        };
        const outcome = await this.steps(context, live, [{ kind: 'model_turn', ...plan }]);
        if (live.failure) throw live.failure;
        return await end(outcome);
      } catch (error) {
        if (controller.signal.aborted) return await end({ status: 'cancelled' }, reason ?? 'cancel_route');
        const code = error instanceof ProviderError ? error.code : 'internal_error';
        if (!(error instanceof ProviderError))
          this.deps.log.error({ err: error, executionId: id }, 'execution failed');
        return await end({ status: 'failed', errorCode: code });
      } finally {
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(id);
        this.deps.events.close(id, live);
        this.deps.leases.release(this.running.size === 0);
      }
    })().catch((error: unknown) => {
      this.deps.log.error({ err: error, executionId: id }, 'execution could not be finished');
      return undefined;
    });
    this.runs.add(done);
    void done.finally(() => this.runs.delete(done));
    return done;
  }

  /**
   * Runs `steps` in order (and the steps each asks for next) and resolves to the last one's outcome; a
   * step that does not succeed ends the run. Each step's place in the event log is kept as a
   * {@link StepRecord} (logged at debug level).
   */
  private async steps(context: StepContext, live: LiveRun, steps: Step[]): Promise<Outcome> {
    const queue = [...steps];
    const records: StepRecord[] = [];
    let outcome: Outcome = { status: 'succeeded' };
    for (let step = queue.shift(); step; step = queue.shift()) {
      const firstSeq = live.nextSeq;
      const handler = this.handlers[step.kind] as (s: Step, c: StepContext) => Promise<StepResult>;
      const result = await handler(step, context);
      outcome = result.outcome;
      records.push({
        kind: step.kind,
        index: records.length + 1,
        firstSeq,
        lastSeq: live.nextSeq - 1,
        status: outcome.status,
      });
      if (outcome.status !== 'succeeded') break;
      queue.push(...(result.next ?? []));
    }
    this.deps.log.debug({ executionId: context.execution.id, steps: records }, 'execution steps ran');
    return outcome;
  }

  /** A model turn: streams the provider's reply as `output.delta` events. */
  private async modelTurn(step: ModelTurnStep, context: StepContext): Promise<StepResult> {
    const { execution, signal } = context;
    // Only a flow run has no model, and a flow run is never run here (src/modules/flows/runner.ts is).
    if (!execution.provider || !execution.model) throw new Error('an execution without a model');
    const provider = this.deps.providers.get(execution.provider);
    if (!provider) throw new ProviderError('provider_unavailable', execution.provider);
    const stream = provider.stream(step.messages, {
      model: execution.model,
      temperature: step.temperature ?? undefined,
      maxOutputTokens: step.maxOutputTokens ?? undefined,
      signal,
    });
    for await (const text of stream) {
      if (!context.emit('output.delta', { text })) break;
    }
    const result = await stream.result();
    return {
      outcome: {
        status: 'succeeded',
        output: result.text,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        finishReason: result.finishReason,
      },
    };
  }

  /** Aborts every run of this instance and waits for them to settle (server shutdown). */
  async close(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await Promise.allSettled([...this.runs]);
    this.deps.leases.release();
  }
}
