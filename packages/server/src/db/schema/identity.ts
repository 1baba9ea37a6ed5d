import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * Identity: people, how they sign in, and every credential Fleece issues to them. Secrets (refresh tokens,
 * magic-link tokens, device codes, authorization codes) are stored only as SHA-256 hashes, hex-encoded;
 * the plaintext leaves the server once and is never kept (docs/security.md, claims C5 and C38).
 */

const timestamps = {
  createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
};

/** Account roles: `admin` unlocks `/api/v1/admin/*`. */
export const USER_ROLES = ['user', 'admin'] as const;
/** Account states: only `active` users can sign in or use a credential. */
export const USER_STATUSES = ['active', 'suspended', 'pending_deletion'] as const;
/** Plans, as in the plan catalogue (src/limits.ts). */
export const PLAN_IDS = ['free', 'pro', 'business', 'enterprise'] as const;

/** A person with an account (`usr_…`). The email is unique without regard to case. */
export const users = pgTable(
  'users',
  {
    id: text().primaryKey(),
    email: text().notNull(),
    emailVerified: boolean().notNull().default(false),
    name: text(),
    plan: text({ enum: PLAN_IDS }).notNull().default('free'),
    role: text({ enum: USER_ROLES }).notNull().default('user'),
    status: text({ enum: USER_STATUSES }).notNull().default('active'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    check('users_role_check', sql`${t.role} in ('user', 'admin')`),
    check('users_status_check', sql`${t.status} in ('active', 'suspended', 'pending_deletion')`),
    check('users_plan_check', sql`${t.plan} in ('free', 'pro', 'business', 'enterprise')`),
  ],
);

/** OAuth / OIDC providers an identity can come from. */
export const IDENTITY_PROVIDERS = ['google', 'github', 'entra'] as const;

/** A provider account linked to a user (`idn_…`): one per provider `subject`. */
export const identities = pgTable(
  'identities',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text({ enum: IDENTITY_PROVIDERS }).notNull(),
    subject: text().notNull(),
    email: text(),
    emailVerified: boolean().notNull().default(false),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('identities_provider_subject_key').on(t.provider, t.subject),
    index('identities_user_id_idx').on(t.userId, t.createdAt, t.id),
  ],
);

/** How a session was created: a browser sign-in (cookie) or a CLI grant (bearer + refresh token). */
export const SESSION_KINDS = ['browser', 'cli'] as const;

/**
 * A server-side session (`ses_…`). Every access token names one; revoking the row ends every token of it at
 * once. `lastUsedAt` drives the idle timeout and `absoluteExpiresAt` the absolute one. For CLI sessions
 * the session is also the refresh-token family.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text({ enum: SESSION_KINDS }).notNull(),
    /** OAuth client of a CLI session (`fleece-cli`); null for browser sessions. */
    clientId: text(),
    /** How the user signed in: `google`, `github`, `entra`, `magic_link`, `device`, `cli`. */
    method: text().notNull(),
    userAgent: text(),
    ip: text(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    lastUsedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    absoluteExpiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp({ withTimezone: true, mode: 'date' }),
    revokedReason: text(),
  },
  (t) => [
    index('sessions_user_id_idx').on(t.userId, t.createdAt, t.id),
    check('sessions_kind_check', sql`${t.kind} in ('browser', 'cli')`),
  ],
);

/**
 * A refresh token (RFC 6749 §6), stored hashed. Each use rotates it: the row gets `rotatedAt` and a
 * successor. A rotated token presented again is a reuse, and revokes its family (the session). `userId`
 * repeats the session's owner so row-level security can scope the row without a join.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: text().primaryKey(),
    sessionId: text()
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    rotatedAt: timestamp({ withTimezone: true, mode: 'date' }),
    /** SHA-256 of the `Idempotency-Key` of the rotating request: a retry of it may rotate again once. */
    rotationKeyHash: text(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_token_hash_key').on(t.tokenHash),
    index('refresh_tokens_session_id_idx').on(t.sessionId),
    index('refresh_tokens_user_id_idx').on(t.userId),
  ],
);

/** A magic sign-in link's token (256 bits), stored hashed, single use, 15 minutes. */
export const magicLinkTokens = pgTable(
  'magic_link_tokens',
  {
    id: text().primaryKey(),
    tokenHash: text().notNull(),
    email: text().notNull(),
    returnTo: text().notNull(),
    requestIp: text(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    consumedAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('magic_link_tokens_token_hash_key').on(t.tokenHash)],
);

/** States of a device authorization (RFC 8628). */
export const DEVICE_STATUSES = ['pending', 'approved', 'denied', 'consumed'] as const;

/**
 * A device authorization request (RFC 8628 §3.1–3.5), `dev_…`. The device code is stored hashed; the user
 * code is stored normalised (8 upper-case letters, no hyphen) and is unique among live requests.
 */
export const deviceAuthorizations = pgTable(
  'device_authorizations',
  {
    id: text().primaryKey(),
    deviceCodeHash: text().notNull(),
    userCode: text().notNull(),
    clientId: text().notNull(),
    scope: text(),
    status: text({ enum: DEVICE_STATUSES }).notNull().default('pending'),
    userId: text().references(() => users.id, { onDelete: 'cascade' }),
    requestIp: text(),
    requestUserAgent: text(),
    /** Current minimum polling interval in seconds; grows by 5 on every `slow_down` (RFC 8628 §3.5). */
    intervalSeconds: integer().notNull(),
    lastPolledAt: timestamp({ withTimezone: true, mode: 'date' }),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    decidedAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('device_authorizations_device_code_hash_key').on(t.deviceCodeHash),
    uniqueIndex('device_authorizations_user_code_live_key')
      .on(t.userCode)
      .where(sql`${t.status} in ('pending', 'approved')`),
    check(
      'device_authorizations_status_check',
      sql`${t.status} in ('pending', 'approved', 'denied', 'consumed')`,
    ),
  ],
);

/**
 * A one-time authorization code of the CLI's browser sign-in (RFC 8252 + RFC 7636), `acd_…`, stored hashed,
 * bound to its loopback `redirectUri`, `clientId` and S256 `codeChallenge`; valid for at most 60 s.
 */
export const authorizationCodes = pgTable(
  'authorization_codes',
  {
    id: text().primaryKey(),
    codeHash: text().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: text().notNull(),
    redirectUri: text().notNull(),
    codeChallenge: text().notNull(),
    /** The CLI session the code was exchanged for: revoked if the code is presented again. */
    sessionId: text().references(() => sessions.id, { onDelete: 'set null' }),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    consumedAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('authorization_codes_code_hash_key').on(t.codeHash)],
);
