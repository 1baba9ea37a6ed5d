import fp from 'fastify-plugin';
import type { Database, Db } from '../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The database handle (driver kind, ping, close). */
    database: Database;
    /** The drizzle instance services query through, running as the app role. */
    db: Db;
  }
}

/** Decorates the app with an open, migrated database and closes it when the app closes. */
export const databasePlugin = fp<{ database: Database }>(
  async (app, { database }) => {
    app.decorate('database', database);
    app.decorate('db', database.db);
    app.addHook('onClose', async () => {
      await database.close();
    });
  },
  { name: 'fleece-database' },
);
