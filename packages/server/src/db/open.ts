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
