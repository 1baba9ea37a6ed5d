import fp from 'fastify-plugin';
import { AgentService } from '../agents/service.js';
import { ChatService } from '../chat/service.js';
import { ExecutionService } from './service.js';

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
 * Decorates the app with `agents`, `executions` and `chat`, adds the agent count to `/api/v1/me`, and on close
 * cancels the executions this instance runs and ends its streams.
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
  },
  {
    name: 'fleece-executions',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-audit', 'fleece-plans', 'fleece-ai'],
  },
);
