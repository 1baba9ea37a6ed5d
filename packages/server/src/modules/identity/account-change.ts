import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/client.js';
import type { Invalidations } from '../../db/invalidation.js';
import type { Clock } from '../../lib/clock.js';
import type { ApiKeyService } from '../api-keys/service.js';
import type { AuditService } from '../audit/service.js';
import type { SessionService } from './sessions.service.js';

/**
 * What a service that changes an account and its credentials is built from (administration, account
 * deletion): the database and clock, the audit log that records the change, the sessions and API keys it
 * revokes, and the invalidations that make every instance drop its cached view of the user
 * (`u:<userId>`) when the change commits.
 */
export interface AccountChangeOptions {
  db: Db;
  clock: Clock;
  audit: AuditService;
  sessions: SessionService;
  apiKeys: ApiKeyService;
  invalidations: Invalidations;
}

/** The {@link AccountChangeOptions} of `app`: registered after the identity and API-key plugins. */
export function accountChangeOptions(app: FastifyInstance): AccountChangeOptions {
  const { db, clock, audit, sessions, apiKeys, invalidations } = app;
  return { db, clock, audit, sessions, apiKeys, invalidations };
}
