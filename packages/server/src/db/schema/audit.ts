import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  inet,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { bytea } from '../columns.js';

/**
 * The audit log (docs/security.md "Audit log"). `audit_events` is insert-only: triggers
 * make UPDATE, DELETE and TRUNCATE fail and the app role holds only SELECT and INSERT on it (migration
 * `0002_audit_insert_only`). Events reference people only through the pseudonymous subject of
 * `audit_subjects`; deleting a subject row anonymises that person's events without touching them.
 */

/** Who performed an audited action. */
export const AUDIT_ACTOR_TYPES = ['user', 'api_key', 'admin', 'system'] as const;
/** How an audited action ended. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
/** The chain of events that belong to no person (system jobs, unauthenticated requests for no known user). */
export const SYSTEM_CHAIN = 'system';

/**
 * The pseudonymous subject of a user (`sub_` + 32 hex characters, random) and that subject's data key.
 *
 * `wrappedKey` is a 256-bit AES-GCM data key sealed under the server's encryption key (envelope format in
 * src/lib/crypto.ts). It encrypts the IP address and user agent of the subject's events, so deleting this
 * row (crypto-shredding) makes them unreadable and the subject unlinkable to the person.
 */
export const auditSubjects = pgTable(
  'audit_subjects',
  {
    userId: text().primaryKey(),
    subject: text().notNull(),
    wrappedKey: bytea().notNull(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    uniqueIndex('audit_subjects_subject_key').on(t.subject),
    check('audit_subjects_subject_check', sql`${t.subject} ~ '^sub_[0-9a-f]{32}$'`),
  ],
);

/**
 * One audit event (`evt_<id>`). Events form hash chains, one per subject plus {@link SYSTEM_CHAIN}: `hash`
 * is SHA-256 over the canonical encoding of every other column and `prevHash`, the hash of the chain's
 * previous event (a per-chain genesis value for the first). See src/modules/audit/chain.ts.
 *
 * - `chain`: the subject whose log the event belongs to, or `system`;
 * - `actorSubject`: the acting person's subject (null for the system and for unauthenticated callers);
 * - `ip` / `userAgent`: kept in clear only on the system chain; personal chains keep them in
 *   `ipCiphertext` / `userAgentCiphertext`, sealed with the chain subject's data key;
 * - `metadata`: a JSON object of at most 50 keys whose strings are at most 500 characters.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    chain: text().notNull(),
    occurredAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    actorType: text({ enum: AUDIT_ACTOR_TYPES }).notNull(),
    actorSubject: text(),
    apiKeyId: text(),
    action: text().notNull(),
    resourceType: text().notNull(),
    resourceId: text(),
    outcome: text({ enum: AUDIT_OUTCOMES }).notNull(),
    metadata: jsonb().$type<Record<string, unknown>>().notNull(),
    ip: inet(),
    userAgent: text(),
    ipCiphertext: bytea(),
    userAgentCiphertext: bytea(),
    requestId: text(),
    prevHash: bytea().notNull(),
    hash: bytea().notNull(),
  },
  (t) => [
    index('audit_events_chain_id_idx').on(t.chain, t.id),
    // Two events can never follow the same predecessor: a writer that read a stale chain head (for example
    // inside a REPEATABLE READ transaction) fails instead of forking the chain.
    uniqueIndex('audit_events_prev_hash_key').on(t.prevHash),
    check('audit_events_chain_check', sql`${t.chain} = 'system' or ${t.chain} ~ '^sub_[0-9a-f]{32}$'`),
    check('audit_events_actor_type_check', sql`${t.actorType} in ('user', 'api_key', 'admin', 'system')`),
    check('audit_events_outcome_check', sql`${t.outcome} in ('success', 'failure', 'denied')`),
    check('audit_events_metadata_check', sql`jsonb_typeof(${t.metadata}) = 'object'`),
    check(
      'audit_events_clear_network_check',
      sql`${t.chain} = 'system' or (${t.ip} is null and ${t.userAgent} is null)`,
    ),
    check('audit_events_hash_check', sql`octet_length(${t.hash}) = 32 and octet_length(${t.prevHash}) = 32`),
  ],
);

/**
 * Throttle windows of detached audit records (denials, rate-limit hits): at most one event per key per
 * window across every instance. `keyHash` is SHA-256 of the throttle key, so keys naming an IP address or
 * an email are not stored in clear.
 */
export const auditThrottle = pgTable('audit_throttle', {
  keyHash: bytea().primaryKey(),
  windowEndsAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
});
