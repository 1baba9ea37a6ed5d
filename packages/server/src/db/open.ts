import type { Config } from '../config.js';
import { type Database, openPglite, pgliteDatabase, postgresDatabase } from './client.js';
import { migratePgliteInstance, migratePostgres } from './migrate.js';

/**
 * Opens the database the configuration names (PostgreSQL when `DATABASE_URL` is set, otherwise PGlite in
 * `FLEECE_DATA_DIR`), applies pending migrations as the owner unless `FLEECE_AUTO_MIGRATE=false`, and
 * returns it switched to the app role.
 *
 * @throws {DatabaseLockedError} when the PGlite directory is open in another process.
 */
export async function openDatabase(config: Config, options: { migrate?: boolean } = {}): Promise<Database> {
  const migrate = options.migrate ?? config.autoMigrate;
  if (config.databaseUrl) {
    if (migrate) await migratePostgres(config.databaseUrl);
    return postgresDatabase(config.databaseUrl, config.databasePoolMax);
  }
  const { pglite, release } = await openPglite(config.dataDir);
  try {
    if (migrate) await migratePgliteInstance(pglite);
    return await pgliteDatabase(pglite, release);
  } catch (error) {
    await pglite.close();
    await release();
    throw error;
  }
}

/** The first error in `error`'s `cause` chain (and an AggregateError's `errors`) with a `code`. */
function codedError(error: unknown): { code: string; message: string } | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { code, message: e.message };
    e = e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : e.cause;
  }
  return undefined;
}

/**
 * What to do next when connecting to the PostgreSQL of `databaseUrl` failed with `error`: one paragraph
 * naming the server and database (never the password), or `undefined` when `error` is not a connection
 * error the operator can fix (unreachable server, unknown host, missing database or role, refused
 * password). Used by `fleece-server` to print advice instead of a stack trace.
 */
export function databaseConnectionAdvice(error: unknown, databaseUrl: string): string | undefined {
  const coded = codedError(error);
  if (!coded) return undefined;
  let where = 'the server in DATABASE_URL';
  let database = '';
  let user = '';
  try {
    const url = new URL(databaseUrl);
    where = `${url.hostname || 'localhost'}:${url.port || '5432'}`;
    database = decodeURIComponent(url.pathname.slice(1));
    user = decodeURIComponent(url.username);
  } catch {
    // A DATABASE_URL that is not a URL: name nothing from it.
  }
  const see = 'See "PostgreSQL roles" in docs/operations.md.';
  switch (coded.code) {
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return `Cannot connect to PostgreSQL at ${where} (${coded.message}). Check that PostgreSQL is running and listening there, and that DATABASE_URL names the right host and port. ${see}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Cannot resolve the PostgreSQL host in DATABASE_URL (${coded.message}). Check the host name in DATABASE_URL. ${see}`;
    case '3D000':
      return `PostgreSQL at ${where} has no database ${database ? `"${database}"` : 'of that name'} (${coded.message}). Create it (\`createdb ${database || '<name>'}\`, or CREATE DATABASE as a superuser), or fix the database name in DATABASE_URL. ${see}`;
    case '28000':
      return `PostgreSQL at ${where} refused the connection (${coded.message}). Create the role (\`createuser ${user || '<name>'}\`, or CREATE ROLE … LOGIN as a superuser), or fix the user in DATABASE_URL. ${see}`;
    case '28P01':
      return `PostgreSQL at ${where} refused the password for ${user ? `"${user}"` : 'this user'} (${coded.message}). Fix the password in DATABASE_URL. ${see}`;
    default:
      return undefined;
  }
}
