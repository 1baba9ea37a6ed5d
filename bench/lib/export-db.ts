import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import {
  APP_ROLE,
  type Database,
  openPglite,
  pgliteDatabase,
  postgresDatabase,
} from '../../packages/server/src/db/client.js';
import { migratePgliteInstance, migratePostgres } from '../../packages/server/src/db/migrate.js';
import { buildApp, loadConfig } from '../../packages/server/src/index.js';

// The server package's own driver (the root has no `pg`), as the other benches reach it.
interface PgClient {
  connect(): Promise<void>;
  query(text: string, params?: unknown[]): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): void;
  end(): Promise<void>;
}
const pg = createRequire(new URL('../../packages/server/package.json', import.meta.url))('pg') as {
  Client: new (options: { connectionString: string }) => PgClient;
};

/** Where the export bench's data lives: a PostgreSQL database, or an on-disk PGlite directory. */
export type BenchStore = { postgres: string } | { pgliteDir: string };

/** The app on `store` (migrated), a statement runner as the database owner, and how to close both. */
export interface BenchApp {
  app: FastifyInstance;
  /** The email the bench user signs in with. */
  email: string;
  ownerQuery(text: string, params?: unknown[]): Promise<unknown>;
  /** Signs the bench user in through the dev outbox's magic link; returns the `cookie` header value. */
  signIn(): Promise<string>;
  close(): Promise<void>;
}

/** Opens `store` (migrating it) and builds the app on it, at log level `warn` once signed in. */
export async function openBenchApp(store: BenchStore): Promise<BenchApp> {
  let database: Database;
  let ownerQuery: BenchApp['ownerQuery'];
  let closeOwner = async () => {};
  if ('postgres' in store) {
    await migratePostgres(store.postgres);
    database = postgresDatabase(store.postgres, 5);
    const owner = new pg.Client({ connectionString: store.postgres });
    await owner.connect();
    owner.on('error', () => {}); // the bench drops its database with FORCE when done
    ownerQuery = (text, params) => owner.query(text, params);
    closeOwner = () => owner.end();
  } else {
    const { pglite, release } = await openPglite(store.pgliteDir);
    await migratePgliteInstance(pglite);
    database = await pgliteDatabase(pglite, release);
    // PGlite is one connection: step out of the app role for this statement only.
    ownerQuery = (text, params) =>
      pglite.transaction(async (tx) => {
        await tx.exec('RESET ROLE');
        await tx.query(text, params);
        await tx.exec(`SET ROLE ${APP_ROLE}`);
      });
  }
  const lines: string[] = [];
  const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', LOG_FORMAT: 'json' }), {
    database,
    logStream: { write: (line: string) => void lines.push(line) },
  });
  const email = 'bench@example.test';
  return {
    app,
    email,
    ownerQuery,
    async signIn() {
      app.log.level = 'info';
      await app.inject({ method: 'POST', url: '/api/auth/magic-link', payload: { email } });
      const link = lines.map((l) => JSON.parse(l) as { link?: string }).findLast((r) => r.link)!.link!;
      const verified = await app.inject({
        method: 'POST',
        url: '/api/auth/magic-link/verify',
        headers: { origin: new URL(app.config.publicUrl).origin },
        payload: { token: new URL(link).searchParams.get('token') },
      });
      app.log.level = 'warn';
      lines.length = 0;
      return String(verified.headers['set-cookie']).split(';')[0]!;
    },
    async close() {
      await closeOwner();
      await app.close();
    },
  };
}
