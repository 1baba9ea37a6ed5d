import { and, eq } from 'drizzle-orm';
import fp from 'fastify-plugin';
import { flows } from '../../db/schema/flows.js';
import { ProblemError } from '../../errors.js';
import { SYSTEM_AUDIT_CONTEXT } from '../audit/context.js';
import { FlowRunner } from './runner.js';
import {
  FLOW_RUN_JOB,
  FLOW_SCHEDULE_JOB,
  type FlowRunJob,
  type FlowScheduleJob,
  FlowService,
} from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Flows: CRUD, schedules, trigger and runs (src/modules/flows/service.ts). */
    flows: FlowService;
  }
}

/**
 * Decorates the app with `flows` and registers its jobs:
 *
 * - `flow.run` runs one flow run ({@link FlowRunner}); one run at a time per worker process, up to an hour,
 *   retried twice after an infrastructure failure (the retry resumes after the last finished step);
 * - `flow.scheduled` is what a flow's cron schedule sends: it triggers a run with the flow's
 *   `scheduleInput` (skipped, with a warning, while a run is active, the quota is short, the
 *   `ai_processing` consent is withdrawn or the account is not active: no run, no callback; a schedule whose
 *   flow is gone is removed).
 *
 * It also connects runs to webhook callbacks: the signing secret of a flow comes from here, and when a run
 * with a `callbackUrl` ends, its callback is enqueued in the run's final transaction
 * (`onFlowRunFinished`), except for a run stopped because the account is not active.
 */
export const flowsPlugin = fp(
  async (app) => {
    const service = new FlowService({
      db: app.db,
      clock: app.clock,
      keyring: app.config.encryption,
      audit: app.audit,
      entitlements: app.entitlements,
      executions: app.executions,
      jobs: app.jobs,
      config: app.config,
    });
    const runner = new FlowRunner({
      flows: service,
      executions: app.executions,
      consents: app.consents,
      clock: app.clock,
      log: app.log,
    });
    app.decorate('flows', service);

    app.jobs.register<FlowRunJob>(FLOW_RUN_JOB, (data, job) => runner.run(data, job.signal), {
      retryLimit: 2,
      retryDelay: 30,
      retryBackoff: true,
      expireInSeconds: 3600,
    });
    app.jobs.register<FlowScheduleJob>(
      FLOW_SCHEDULE_JOB,
      async ({ userId, flowId }) => {
        const flow = await service.find(userId, flowId);
        if (!flow) {
          await app.jobs.unschedule(FLOW_SCHEDULE_JOB, flowId);
          return;
        }
        // No consent, no AI: the trigger route checks it per request; a schedule checks it when it fires,
        // so revoking `ai_processing` stops scheduled runs too (the schedule stays, to run once granted).
        if (!(await app.consents.has(userId, 'ai_processing'))) {
          app.log.warn({ flowId, code: 'consent_required' }, 'scheduled flow run skipped');
          return;
        }
        try {
          await service.trigger(SYSTEM_AUDIT_CONTEXT, userId, flowId, flow.scheduleInput, 'schedule');
        } catch (error) {
          if (!(error instanceof ProblemError)) throw error;
          app.log.warn({ flowId, code: error.code }, 'scheduled flow run skipped');
        }
      },
      { retryLimit: 2, retryDelay: 30, retryBackoff: true },
    );

    // Webhook callbacks of flow runs (src/modules/webhooks/): the secret to sign with, and the enqueue.
    app.webhooks.useSigningSecrets((tx, userId, flowId, url) =>
      service.signingSecret(tx, userId, flowId, url),
    );
    app.executions.onFlowRunFinished(async function onFlowRunFinished(tx, run, userId) {
      if (!run.flowId) return;
      const [flow] = await tx
        .select({ callbackUrl: flows.callbackUrl })
        .from(flows)
        .where(and(eq(flows.id, run.flowId), eq(flows.userId, userId)));
      if (!flow?.callbackUrl) return;
      // A run stopped because the account is no longer active (scheduled for deletion, or suspended) sends
      // nothing out: no callback.
      if (run.error?.code === 'account_pending_deletion' || run.error?.code === 'forbidden') return;
      await app.webhooks.enqueue(tx, {
        userId,
        executionId: run.id,
        flowId: run.flowId,
        status: run.status,
        callbackUrl: flow.callbackUrl,
      });
    });
  },
  {
    name: 'fleece-flows',
    dependencies: [
      'fleece-config',
      'fleece-database',
      'fleece-jobs',
      'fleece-audit',
      'fleece-plans',
      'fleece-executions',
      'fleece-webhooks',
      'fleece-consents',
    ],
  },
);
