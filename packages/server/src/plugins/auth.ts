import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';

/**
 * Who is making a request. The identity and API-key features attach one to the request; until then no
 * request has a principal.
 */
export interface Principal {
  type: 'user' | 'api_key';
  userId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, or `null` when the request carries no valid credential. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /**
     * preHandler that requires a principal.
     * @throws {ProblemError} `unauthenticated` (401) when the request has none.
     */
    requireAuth: (request: FastifyRequest) => Promise<void>;
  }
}

/** Declares the request principal and the `requireAuth` guard that authenticated routes use. */
export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('principal', null);
    app.decorate('requireAuth', async (request: FastifyRequest) => {
      if (!request.principal) {
        throw new ProblemError(
          'unauthenticated',
          'This endpoint needs credentials: send `Authorization: Bearer <API key or access token>`, or sign in.',
        );
      }
    });
  },
  { name: 'fleece-auth' },
);
