import fp from 'fastify-plugin';
import { AgentService } from '../agents/service.js';
import { ChatService } from '../chat/service.js';
import { ExecutionService } from './service.js';

/** The job that fails executions whose instance died ({@link ExecutionService.sweepLost}). */
export const SWEEP_JOB = 'executions.sweep';

declare module 'fastify' {
  interface FastifyInstance {
    /** Agents: CRUD within the plan's agent count (src/modules/agents/service.ts). */
    agents: AgentService;
    /** Executions: start, run, cancel, list and stream (src/modules/executions/service.ts). */
    executions: ExecutionService;
    /** Chat and conversations (src/modules/chat/service.ts). */
    chat: ChatService;
  }
}

/**
 * Decorates the app with `agents`, `executions` and `chat`, adds the agent count to `/api/v1/me`, sweeps
 * executions of lost instances (the {@link SWEEP_JOB} job every minute, and at start-up where jobs run), and
 * on close cancels the executions this instance runs and ends its streams.
 */
export const executionsPlugin = fp(
  async (app) => {
    const agents = new AgentService(app.db, app.clock, app.audit, app.entitlements, app.ai.models);
    const executions = new ExecutionService(
      app.database,
      app.clock,
      app.config.encryption,
      app.audit,
      app.entitlements,
      app.ai.models,
      app.ai.providers,
      agents,
      app.log,
    );
    app.me.registerCounter('agents', (tx, userId) => agents.count(tx, userId));
    app.decorate('agents', agents);
    app.decorate('executions', executions);
    app.decorate(
      'chat',
      new ChatService(
        app.db,
        app.clock,
        app.config.encryption,
        app.audit,
        app.entitlements,
        app.ai.models,
        app.ai.providers,
      ),
    );
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
    ],
  },
);
