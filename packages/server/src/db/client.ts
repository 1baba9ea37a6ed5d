import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import * as schema from './schema/index.js';

/** The role every served query runs as (see drizzle/0000_app_role.sql). */
export const APP_ROLE = 'fleece_app';

/** A drizzle database over either driver; services only ever see this type. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Thrown when a PGlite data directory is already open in another process. */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
}

/**
 * One database connection (PGlite) or pool (PostgreSQL), already switched to the app role.
 *
 * - `db`: the drizzle instance all services use;
 * - `ping()`: runs `select 1` and resolves with the round trip in ms;
 * - `close()`: releases the connections (and the PGlite directory lock); idempotent.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Where a database comes from: a PostgreSQL URL, a PGlite directory (`memory://` for RAM), or a PGlite. */
export type DatabaseSource =
  | { kind: 'postgres'; url: string; poolMax?: number }
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'pglite'; instance: PGlite };

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return Math.round((performance.now() - start) * 100) / 100;
}

/**
 * Opens a PGlite database. A directory is locked for this process first, so a second server on the same
 * directory fails with {@link DatabaseLockedError} instead of corrupting it.
 */
export async function openPglite(dataDir: string): Promise<{ pglite: PGlite; release: () => Promise<void> }> {
  if (dataDir === 'memory://') return { pglite: new PGlite(), release: async () => {} };
  const dir = path.resolve(dataDir);
  await mkdir(dir, { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, { stale: 15_000, update: 5_000, retries: 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new DatabaseLockedError(
        `The embedded database at ${dir} is in use by another Fleece process. Stop that process, or give this one its own FLEECE_DATA_DIR, or point both at PostgreSQL with DATABASE_URL.`,
      );
    }
    throw error;
  }
  try {
    const pglite = new PGlite(dir);
    await pglite.waitReady;
    return { pglite, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * Wraps an open PGlite (already migrated) as a {@link Database} running as the app role.
 * `release` is called by `close()` after PGlite closes.
 */
export async function pgliteDatabase(
  pglite: PGlite,
  release: () => Promise<void> = async () => {},
): Promise<Database> {
  await pglite.exec(`SET ROLE ${APP_ROLE}`);
  const db = drizzlePglite({ client: pglite, schema, casing: 'snake_case' }) as unknown as Db;
  let closed = false;
  return {
    kind: 'pglite',
    db,
    ping: () => timed(() => pglite.query('select 1')),
    async close() {
      if (closed) return;
      closed = true;
      await pglite.close();
      await release();
    },
  };
}

/**
 * Opens a `pg` pool whose every connection runs as the app role.
 * `poolMax` bounds the connections (default 10).
 */
export function postgresDatabase(url: string, poolMax = 10): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: 5_000,
    // The role is a start-up parameter, so a connection that cannot take it fails instead of serving as owner.
    options: `-c role=${APP_ROLE}`,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = drizzlePg({ client: pool, schema, casing: 'snake_case' }) as unknown as Db;
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    db,
    ping: () => timed(() => db.execute(sql`select 1`)),
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
