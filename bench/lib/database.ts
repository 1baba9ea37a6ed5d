import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

/** Collects an app's log lines (its `logStream`), so the dev outbox's magic link can be read back. */
export class Lines {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

// Benchmarks reach PostgreSQL through the server package's own driver (the root has no `pg`).
interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}
const pg = createRequire(new URL('../../packages/server/package.json', import.meta.url))('pg') as {
  Client: new (options: { connectionString: string }) => PgClient;
};

/** Runs one SQL statement on `url` in its own connection. */
export async function adminSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The superuser PostgreSQL URL benchmarks may create databases on: `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`. */
export function benchAdminUrl(): string | undefined {
  return process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
}

/** A database made by {@link createFreshDatabase}: its URL, and `drop()` (which ends its connections). */
export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates a fresh PostgreSQL database `fleece_bench_<random hex>` on `adminUrl` (a superuser URL). */
export async function createFreshDatabase(adminUrl: string): Promise<FreshDatabase> {
  const name = `fleece_bench_${randomBytes(6).toString('hex')}`;
  await adminSql(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminSql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Creates a fresh PostgreSQL database on `adminUrl` for one measurement, passes its URL to `fn`, and drops
 * it afterwards (even when `fn` throws).
 */
export async function withFreshDatabase<T>(
  adminUrl: string,
  fn: (databaseUrl: string) => Promise<T>,
): Promise<T> {
  const database = await createFreshDatabase(adminUrl);
  try {
    return await fn(database.url);
  } finally {
    await database.drop();
  }
}
