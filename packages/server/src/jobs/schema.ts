import type { PGlite } from '@electric-sql/pglite';
import { type Db as BossDb, fromPglite, PgBoss } from 'pg-boss';
import { APP_ROLE } from '../db/client.js';

/** The PostgreSQL schema pg-boss keeps its tables and functions in. */
export const JOB_SCHEMA = 'pgboss';

/**
 * What the app role needs on pg-boss's schema: read and write its tables (jobs, queues, schedules),
 * use its sequences. It gets no CREATE: pg-boss's own schema changes run as the owner (see
 * {@link installJobSchema}). Tables pg-boss creates later as the owner get the same grants through the
 * default privileges of migration 0000. pg-boss's functions are executable by PUBLIC.
 */
const GRANTS = [
  `GRANT USAGE ON SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`,
  `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`,
  `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`,
];

/**
 * Creates or upgrades pg-boss's schema ({@link JOB_SCHEMA}) as the connecting owner role, then grants
 * the app role what it needs. Part of the migrate path (`fleece-server migrate`, and start-up when
 * `FLEECE_AUTO_MIGRATE` is on), run after the SQL migrations. pg-boss serialises concurrent installs with
 * its own advisory lock, so instances starting together are safe. Idempotent.
 *
 * @param target a PostgreSQL URL (connected as the owner), or a PGlite instance before its role switch.
 */
export async function installJobSchema(target: string | PGlite): Promise<void> {
  const options = {
    schema: JOB_SCHEMA,
    migrate: true,
    supervise: false,
    schedule: false,
    registerInstance: false,
  } as const;
  let boss: PgBoss;
  let run: (text: string) => Promise<unknown>;
  if (typeof target === 'string') {
    boss = new PgBoss({ ...options, connectionString: target, max: 1 });
    run = (text) => boss.getDb().executeSql(text);
  } else {
    const db: BossDb = fromPglite(target);
    boss = new PgBoss({ ...options, db, backend: 'pglite' });
    run = (text) => target.exec(text);
  }
  // An installer must not crash the process on an idle-connection error; start() rejects on real ones.
  boss.on('error', () => {});
  await boss.start();
  try {
    for (const statement of GRANTS) await run(statement);
  } finally {
    // The PGlite instance belongs to the caller; only a pool pg-boss opened itself is closed.
    await boss.stop({ graceful: false, close: typeof target === 'string' });
  }
}
