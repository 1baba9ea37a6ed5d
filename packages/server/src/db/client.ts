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

/**
 * The rows of a raw statement's result (`db.execute(sql…)`), typed as `T`. Both drivers answer with
 * `{ rows }` (node-postgres's `QueryResult`, PGlite's `Results`); drizzle's type for it is per driver.
 */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

/**
 * Thrown when a PGlite data directory is already open in another process; `dir` is its absolute path (the
 * command line words its advice per sub-command from it).
 */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(message);
  }
}

/** Options of {@link Database.listen}. */
export interface ListenOptions {
  /**
   * Called after the listening connection was lost and is subscribed again. Notifications sent while it
   * was down are lost, so a subscriber that must not miss any re-reads what it may have missed.
   */
  onReconnect?: () => void;
}

/**
 * One database connection (PGlite) or pool (PostgreSQL), already switched to the app role.
 *
 * - `db`: the drizzle instance all services use;
 * - `ping()`: runs `select 1` and resolves with the round trip in ms;
 * - `listen(channel, handler)`: PostgreSQL `LISTEN`; every instance on the database sees every `NOTIFY`
 *   (send one with {@link notify}, inside the transaction whose commit it announces). Resolves with an
 *   unsubscribe function once the subscription is active. Channel names are lower-case identifiers.
 * - `close()`: releases the connections (and the PGlite directory lock); idempotent.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /**
   * What the job queue (src/jobs/) connects through: the PGlite instance itself (one shared connection,
   * already in the app role), or the PostgreSQL URL, on which pg-boss opens its own small pool as the app role.
   */
  readonly connection: { kind: 'pglite'; pglite: PGlite } | { kind: 'postgres'; url: string };
  ping(): Promise<number>;
  listen(
    channel: string,
    handler: (payload: string) => void,
    options?: ListenOptions,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`Invalid notification channel name: ${channel}`);
}

/**
 * Sends a PostgreSQL notification on `channel` (delivered when the surrounding transaction commits, at
 * once outside one). The payload must stay under 8000 bytes: send ids, not documents.
 */
export async function notify(db: Pick<Db, 'execute'>, channel: string, payload: string): Promise<void> {
  checkChannel(channel);
  await db.execute(sql`select pg_notify(${channel}, ${payload})`);
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
        `The embedded database at ${dir} is in use by another Fleece process. Stop that process (if it crashed, its lock lapses within 15 s), or give this one its own FLEECE_DATA_DIR, or point both at PostgreSQL with DATABASE_URL.`,
        dir,
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
    connection: { kind: 'pglite', pglite },
    ping: () => timed(() => pglite.query('select 1')),
    async listen(channel, handler) {
      checkChannel(channel);
      const unlisten = await pglite.listen(channel, handler);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await pglite.close();
      await release();
    },
  };
}

/**
 * node-postgres's `Client` whose promise form of `query` (no callback: what drizzle calls inside a
 * transaction) runs on the callback form, as `pg.Pool#query` already does. The library's own promise form
 * builds the `Query` first and attaches its callback afterwards; measured on node-postgres 8.23 and Node 24,
 * a transaction that reads many rows that way keeps most of each result alive through V8's young-generation
 * collections (about 80% of what it allocated survived each scavenge, and was promoted to the old
 * generation, when reading 200,000 rows in batches of 100), so memory grows with the rows read until a full
 * collection. Handing the callback to `query` up front, results die young (under 1% survived). Everything
 * else is the library's: the result, the errors (their stack re-captured at the caller, as the library
 * does), and the callback form, queries with a `submit` method (cursors) and configs carrying a `callback`,
 * which are passed through.
 */
export class CallbackQueryClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: node-postgres's overloads, passed through unchanged
  override query(config: any, values?: any, callback?: any): any {
    const shape = config as { submit?: unknown; callback?: unknown } | null;
    if (
      typeof callback === 'function' ||
      typeof values === 'function' ||
      typeof shape?.submit === 'function' ||
      typeof shape?.callback === 'function'
    )
      return super.query(config, values, callback);
    return new Promise((resolve, reject) => {
      super.query(config, values, (error: Error | null, result: unknown) =>
        error ? reject(error) : resolve(result),
      );
    }).catch((error: Error) => {
      // As node-postgres does: the stack leads back to the code that made the query, not to the socket.
      Error.captureStackTrace(error);
      throw error;
    });
  }
}

/**
 * Opens a `pg` pool whose every connection runs as the app role, with {@link CallbackQueryClient} clients.
 * `poolMax` bounds the connections (default 10).
 */
export function postgresDatabase(url: string, poolMax = 10): Database {
  const pool = new pg.Pool({
    Client: CallbackQueryClient,
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: 5_000,
    // The role is a start-up parameter, so a connection that cannot take it fails instead of serving as owner.
    options: `-c role=${APP_ROLE}`,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = drizzlePg({ client: pool, schema, casing: 'snake_case' }) as unknown as Db;
  const listener = new PgListener(url);
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    db,
    connection: { kind: 'postgres', url },
    ping: () => timed(() => db.execute(sql`select 1`)),
    listen: (channel, handler, options) => listener.listen(channel, handler, options),
    close() {
      closed ??= Promise.all([listener.close(), pool.end()]).then(() => undefined);
      return closed;
    },
  };
}

interface Subscription {
  handler: (payload: string) => void;
  options: ListenOptions | undefined;
}

/**
 * One dedicated connection per process for `LISTEN`, shared by every subscriber. A lost connection is
 * re-established with backoff (0.25 s doubling to 5 s) and every channel subscribed again, after which
 * each subscriber's `onReconnect` runs.
 */
class PgListener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly channels = new Map<string, Set<Subscription>>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 250;

  constructor(private readonly url: string) {}

  async listen(channel: string, handler: (payload: string) => void, options?: ListenOptions) {
    checkChannel(channel);
    const subscription: Subscription = { handler, options };
    let subs = this.channels.get(channel);
    const first = !subs;
    if (!subs) {
      subs = new Set();
      this.channels.set(channel, subs);
    }
    subs.add(subscription);
    if (first) {
      const client = await this.connection();
      await client.query(`LISTEN "${channel}"`);
    } else {
      await this.connection();
    }
    return async () => {
      subs.delete(subscription);
      if (subs.size === 0 && this.channels.get(channel) === subs) {
        this.channels.delete(channel);
        if (this.client && !this.closed) await this.client.query(`UNLISTEN "${channel}"`).catch(() => {});
      }
    };
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, options: `-c role=${APP_ROLE}` });
    client.on('notification', (message) => {
      for (const sub of this.channels.get(message.channel) ?? []) sub.handler(message.payload ?? '');
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    for (const channel of this.channels.keys()) await client.query(`LISTEN "${channel}"`);
    this.client = client;
    this.retryDelayMs = 250;
    return client;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connection().then(
        () => {
          for (const subs of this.channels.values()) for (const sub of subs) sub.options?.onReconnect?.();
        },
        () => {
          this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5_000);
          this.scheduleReconnect();
        },
      );
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
