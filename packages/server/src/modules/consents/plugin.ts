import type { ConsentType } from '@fleece/sdk/contract';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConsentService, consentRequired } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Consents: list, grant, revoke, check (src/modules/consents/service.ts). */
    consents: ConsentService;
    /**
     * A `preParsing` guard (after `requireAuth`, before the body is parsed) that lets the request through
     * only when its user has granted consent `type` for the current policy version.
     * @throws {ProblemError} 403 `consent_required`, saying how to grant it.
     */
    requireConsent(type: ConsentType): (request: FastifyRequest) => Promise<void>;
  }
}

/** Decorates the app with `consents` and the `requireConsent(type)` guard ("no consent, no AI"). */
export const consentsPlugin = fp(
  async (app) => {
    const consents = new ConsentService({ db: app.db, clock: app.clock, audit: app.audit });
    app.decorate('consents', consents);
    app.decorate('requireConsent', (type: ConsentType) => async (request: FastifyRequest) => {
      const principal = request.principal;
      if (!principal) return;
      if (!(await consents.has(principal.userId, type))) throw consentRequired(app.config.publicUrl, type);
    });
  },
  {
    name: 'fleece-consents',
    dependencies: ['fleece-config', 'fleece-database', 'fleece-audit'],
  },
);
