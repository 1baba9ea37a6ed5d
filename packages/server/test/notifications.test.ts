import { afterEach, describe, expect, it } from 'vitest';
import { type Database, notify, postgresDatabase } from '../src/db/client.js';
import { backend, createTestDatabase, type TestDatabase } from './helpers/app.js';

function nextPayload(
  database: Database,
  channel: string,
): Promise<{ payload: Promise<string>; stop: () => Promise<void> }> {
  let resolve!: (p: string) => void;
  const payload = new Promise<string>((r) => {
    resolve = r;
  });
  return database.listen(channel, resolve).then((stop) => ({ payload, stop }));
}

describe('LISTEN/NOTIFY', () => {
  let tdb: TestDatabase | undefined;
  afterEach(async () => {
    await tdb?.destroy();
    tdb = undefined;
  });

  it('delivers a notification to a listener', async () => {
    tdb = await createTestDatabase();
    const { payload, stop } = await nextPayload(tdb.database, 'fleece_test');
    await notify(tdb.database.db, 'fleece_test', 'evt_1');
    expect(await payload).toBe('evt_1');
    await stop();
  });

  it('delivers only after the transaction commits, and never for a rolled-back one', async () => {
    tdb = await createTestDatabase();
    const seen: string[] = [];
    const stop = await tdb.database.listen('fleece_tx', (p) => seen.push(p));
    await tdb.database.db
      .transaction(async (tx) => {
        await notify(tx, 'fleece_tx', 'rolled-back');
        tx.rollback();
      })
      .catch(() => {});
    const { payload } = await nextPayload(tdb.database, 'fleece_tx');
    await tdb.database.db.transaction(async (tx) => {
      await notify(tx, 'fleece_tx', 'committed');
    });
    expect(await payload).toBe('committed');
    expect(seen).toEqual(['committed']);
    await stop();
  });

  it('rejects a channel name that is not an identifier', async () => {
    tdb = await createTestDatabase();
    await expect(tdb.database.listen('bad"; drop table x; --', () => {})).rejects.toThrow(
      'Invalid notification channel name',
    );
  });

  it.runIf(backend === 'postgres')(
    'reaches a listener on another instance of the same database',
    async () => {
      tdb = await createTestDatabase();
      const other = postgresDatabase(tdb.url!, 2);
      try {
        const { payload, stop } = await nextPayload(other, 'fleece_cross');
        await notify(tdb.database.db, 'fleece_cross', 'from-instance-a');
        expect(await payload).toBe('from-instance-a');
        await stop();
      } finally {
        await other.close();
      }
    },
  );

  it.runIf(backend === 'postgres')('listens again after its connection is killed, and says so', async () => {
    tdb = await createTestDatabase();
    let reconnected!: () => void;
    const back = new Promise<void>((r) => {
      reconnected = r;
    });
    const seen: string[] = [];
    const stop = await tdb.database.listen('fleece_reconnect', (p) => seen.push(p), {
      onReconnect: reconnected,
    });
    await tdb.ownerQuery(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'LISTEN%'",
    );
    await back;
    const { payload } = await nextPayload(tdb.database, 'fleece_reconnect');
    await notify(tdb.database.db, 'fleece_reconnect', 'after');
    expect(await payload).toBe('after');
    expect(seen).toEqual(['after']);
    await stop();
  });
});
