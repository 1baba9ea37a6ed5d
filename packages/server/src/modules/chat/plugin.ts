import fp from 'fastify-plugin';
import { ChatService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Chat and conversations (src/modules/chat/service.ts). */
    chat: ChatService;
  }
}

/** Decorates the app with `chat` ({@link ChatService}). */
export const chatPlugin = fp(
  async (app) => {
    app.decorate(
      'chat',
      new ChatService({
        db: app.db,
        clock: app.clock,
        keyring: app.config.encryption,
        audit: app.audit,
        entitlements: app.entitlements,
        models: app.ai.models,
        providers: app.ai.providers,
      }),
    );
  },
  {
    name: 'fleece-chat',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-audit', 'fleece-plans', 'fleece-ai'],
  },
);
