import fp from 'fastify-plugin';
import { ExecutionService } from './service.js';

/** The job that fails executions whose instance died ({@link ExecutionService.sweepLost}). */
export const SWEEP_JOB = 'executions.sweep';

declare module 'fastify' {
  interface FastifyInstance {
    /** Executions: start, run, cancel, list and stream (src/modules/executions/service.ts). */
    executions: ExecutionService;
  }
}

/**
 * Decorates the app with `executions`, sweeps executions of lost instances (the {@link SWEEP_JOB} job every
 * minute, and at start-up where jobs run), and on close cancels the executions this instance runs and ends
 * its streams.
 */
export const executionsPlugin = fp(
  async (app) => {
    const executions = new ExecutionService({
      database: app.database,
      log: app.log,
      clock: app.clock,
      agents: app.agents,
      models: app.ai.models,
      providers: app.ai.providers,
      entitlements: app.entitlements,
      audit: app.audit,
      keyring: app.config.encryption,
    });
    app.decorate('executions', executions);
    app.addHook('preClose', async () => {
      await executions.close();
    });
    // Executions whose instance died (claim C32): swept every minute where jobs run, and once at start-up.
    app.jobs.register(SWEEP_JOB, async () => ({ failed: (await executions.sweepLost()).length }), {
      retryLimit: 0,
      expireInSeconds: 300,
      policy: 'singleton',
      schedule: '* * * * *',
    });
    app.addHook('onReady', async () => {
      if (app.config.workers === 'off') return;
      await executions.sweepLost().catch((error: unknown) => {
        app.log.warn({ err: error }, 'the start-up sweep of lost executions failed; the job retries it');
      });
    });
  },
  {
    name: 'fleece-executions',
    dependencies: [
      'fleece-config',
      'fleece-database',
      'fleece-jobs',
      'fleece-audit',
      'fleece-plans',
      'fleece-ai',
      'fleece-agents',
    ],
  },
);
