import fp from 'fastify-plugin';
import { type IdentityServices, identityServices } from './service.js';
import { SessionService } from './sessions.service.js';
import { TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Issues and verifies access tokens (JWT, HS256; src/modules/identity/tokens.ts). */
    tokens: TokenService;
    /** Server-side sessions: validity cache, revocation, listing (src/modules/identity/sessions.service.ts). */
    sessions: SessionService;
    /**
     * Sign-in and the CLI's grants: users, magic links, OAuth, device codes, the mailer
     * (src/modules/identity/service.ts); the identity routes serve them.
     */
    identity: IdentityServices;
  }
}

/**
 * Decorates the app with the identity services: `tokens` and `sessions`, which authentication
 * (src/plugins/authenticate.ts) checks every credential with, and `identity`, the sign-in services.
 */
export const identityPlugin = fp(
  async (app) => {
    const tokens = new TokenService({
      secret: app.config.secret,
      issuer: app.config.publicUrl,
      clock: app.clock,
    });
    const sessions = new SessionService({
      database: app.database,
      clock: app.clock,
      invalidations: app.invalidations,
    });
    app.decorate('tokens', tokens);
    app.decorate('sessions', sessions);
    app.decorate(
      'identity',
      identityServices({
        db: app.db,
        clock: app.clock,
        config: app.config,
        audit: app.audit,
        sessions,
        tokens,
        log: app.log,
      }),
    );
  },
  {
    name: 'fleece-identity',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-invalidations', 'fleece-audit'],
  },
);
