import { type SQL, sql } from 'drizzle-orm';
import type { Db } from './client.js';

/**
 * Row-level security scopes (docs/security.md "Tenant isolation"). Every tenant table has
 * policies that show a transaction only the rows its scope names; the scope is a set of transaction-local
 * PostgreSQL settings (`set_config(name, value, true)`), so it ends with the transaction and can never leak
 * into the next one on a pooled connection (or on PGlite's single connection).
 *
 * - `userId` (`app.user_id`): the tenant. Rows whose owner is this user.
 * - `credential` (`app.credential`): a presented credential before its owner is known: the SHA-256 hex of a
 *   secret (API key, refresh token, authorization code, device code, magic-link token) or a device user
 *   code. Only the row that credential names is visible.
 * - `email` (`app.email`): the address a sign-in step is about, lower case: that account's `users` row.
 * - `identity` (`app.identity`): `<provider>:<subject>` asserted by an OAuth provider: that `identities` row.
 * - `admin` (`app.admin = 'on'`): every `users` row (and every pending account deletion); only the admin
 *   module, `fleece-server admin` and the system jobs (account purge, retention) set it.
 * - `cleanup` (`app.cleanup = 'on'`): read and delete (never insert or change) magic-link tokens, device
 *   authorizations, authorization codes and refresh tokens; only the daily data job sets it, to delete
 *   expired ones (drizzle/0017_cleanup.sql).
 *
 * A query outside any scope sees no tenant row at all. Services still scope every query by owner in SQL;
 * the policies are the second, independent lock.
 */
export interface Scope {
  userId?: string;
  credential?: string;
  email?: string;
  identity?: string;
  admin?: boolean;
  cleanup?: boolean;
}

const SETTINGS: Record<keyof Scope, string> = {
  userId: 'app.user_id',
  credential: 'app.credential',
  email: 'app.email',
  identity: 'app.identity',
  admin: 'app.admin',
  cleanup: 'app.cleanup',
};

/**
 * Sets `scope` on the open transaction `tx` (one statement). Use it inside a transaction once the owner of
 * what it touches is known, for example after a lookup by credential found the user. Settings not named in
 * `scope` keep their current value.
 */
export async function enterScope(tx: Pick<Db, 'execute'>, scope: Scope): Promise<void> {
  const calls: SQL[] = [];
  for (const [key, name] of Object.entries(SETTINGS) as [keyof Scope, string][]) {
    const value = scope[key];
    if (value === undefined) continue;
    const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : value;
    calls.push(sql`set_config(${name}, ${text}, true)`);
  }
  if (calls.length === 0) return;
  await tx.execute(sql`select ${sql.join(calls, sql`, `)}`);
}

/**
 * Runs `fn` in a transaction scoped to `scope` (see {@link Scope}). When `db` is already a transaction, a
 * savepoint is used and the scope applies to the rest of the enclosing transaction as well.
 *
 * @example
 * const keys = await withScope(db, { credential: hashSecret(presented) }, (tx) => tx.select().from(apiKeys));
 */
export function withScope<T>(db: Db, scope: Scope, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Db;
    await enterScope(tx, scope);
    return fn(tx);
  });
}

/**
 * Runs `fn` in a transaction scoped to the tenant `userId`: `select set_config('app.user_id', userId, true)`
 * first, so row-level security shows only that user's rows. Every service query on tenant data runs through
 * this (or {@link withScope}); the queries inside still filter by `userId` themselves.
 *
 * @example
 * const keys = await withUser(app.db, principal.userId, (tx) =>
 *   tx.select().from(apiKeys).where(eq(apiKeys.userId, principal.userId)),
 * );
 */
export function withUser<T>(db: Db, userId: string, fn: (tx: Db) => Promise<T>): Promise<T> {
  return withScope(db, { userId }, fn);
}

/**
 * Runs `fn` in a transaction with the admin scope (every `users` row visible). Only the admin module (behind
 * `requireAdmin`) and the `fleece-server admin` command use it; to act on another user's other tables an
 * admin transaction enters that user's scope with {@link enterScope}.
 */
export function withAdmin<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return withScope(db, { admin: true }, fn);
}
