import fp from 'fastify-plugin';
import { AgentService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Agents: CRUD within the plan's agent count (src/modules/agents/service.ts). */
    agents: AgentService;
  }
}

/** Decorates the app with `agents` ({@link AgentService}) and adds the agent count to `/api/v1/me`. */
export const agentsPlugin = fp(
  async (app) => {
    const agents = new AgentService({
      db: app.db,
      clock: app.clock,
      audit: app.audit,
      entitlements: app.entitlements,
      models: app.ai.models,
    });
    app.me.registerCounter('agents', (tx, userId) => agents.count(tx, userId));
    app.decorate('agents', agents);
  },
  {
    name: 'fleece-agents',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-audit', 'fleece-plans', 'fleece-ai'],
  },
);
