import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './identity.js';

/**
 * API keys (`key_…`): long-lived bearer credentials for CI and scripts, one user each (claim C27). The
 * plaintext (`flc_…`, see src/modules/api-keys/format.ts) is shown once at creation and never stored: the
 * row keeps its SHA-256 (`keyHash`, 64 hex characters, unique; authentication looks keys up by it) and
 * `start`, the first 8 characters after `flc_`, so people can tell their keys apart.
 *
 * - `scopes`: what the key may do (`read`, `write`, `agents:execute`, `flows:trigger`, `audit:read`,
 *   `export`);
 * - `expiresAt`: after it the key answers 401 `api_key_expired`; null for a key that does not expire;
 * - `lastUsedAt` / `lastUsedIp`: written at most once per key per minute, across every instance;
 * - `revokedAt`: set by revocation (or suspension of the user); a revoked key never authenticates again;
 * - `disabledAt`: set when a plan downgrade leaves more keys than the new plan allows (newest first); a
 *   disabled key answers 403 `api_key_disabled`, does not count against the limit, and is enabled again when
 *   a plan change makes room (unlike revocation, reversible).
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    keyHash: text().notNull(),
    start: text().notNull(),
    scopes: text().array().notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp({ withTimezone: true, mode: 'date' }),
    lastUsedIp: text(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp({ withTimezone: true, mode: 'date' }),
    disabledAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
    index('api_keys_user_id_idx').on(t.userId, t.createdAt, t.id),
    check('api_keys_key_hash_check', sql`${t.keyHash} ~ '^[0-9a-f]{64}$'`),
  ],
);
