import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackQueryClient, type Database, postgresDatabase, rowsOf } from '../../src/db/client.js';
import { backend } from '../helpers/app.js';

// node-postgres only: PGlite has no client of this kind.
describe.runIf(backend === 'postgres')('CallbackQueryClient (node-postgres client of the pool)', () => {
  let client: CallbackQueryClient;
  beforeAll(async () => {
    client = new CallbackQueryClient({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(() => client.end());

  it('resolves the promise form with the whole result, for text and for a query config', async () => {
    const byText = await client.query('select $1::int as n, $2::text as s', [7, 'seven']);
    expect(byText.rows).toEqual([{ n: 7, s: 'seven' }]);
    expect(byText.command).toBe('SELECT');
    expect(byText.rowCount).toBe(1);
    expect(byText.fields.map((f: { name: string }) => f.name)).toEqual(['n', 's']);
    const byConfig = await client.query({ text: 'select $1::int + 1 as n', values: [7], rowMode: 'array' });
    expect(byConfig.rows).toEqual([[8]]);
  });

  it("rejects with the server's error, its stack at the caller, and the connection goes on serving", async () => {
    const failed = client.query('select * from no_such_table');
    await expect(failed).rejects.toBeInstanceOf(pg.DatabaseError);
    await expect(failed).rejects.toMatchObject({ code: '42P01' });
    // As node-postgres does: the stack leads back to the code that made the query, not only to the socket.
    const error = await failed.catch((e: Error) => e);
    expect(error.stack).toContain('pg-client.test.ts');
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('passes the callback form (as an argument or in the config) and submittable queries through unchanged', async () => {
    const viaCallback = await new Promise<unknown[]>((resolve, reject) => {
      const returned = client.query('select 2 as two', (error: Error | null, result: pg.QueryResult) =>
        error ? reject(error) : resolve(result.rows),
      );
      expect(returned).toBeUndefined();
    });
    expect(viaCallback).toEqual([{ two: 2 }]);
    const viaConfig = await new Promise<unknown[]>((resolve, reject) => {
      const config = {
        text: 'select 4 as four',
        callback: (error: Error | null, result: pg.QueryResult) =>
          error ? reject(error) : resolve(result.rows),
      };
      expect(client.query(config as pg.QueryConfig)).toBeUndefined();
    });
    expect(viaConfig).toEqual([{ four: 4 }]);
    const submittable = new pg.Query('select 3 as three');
    const rows = new Promise((resolve) => submittable.on('end', (result) => resolve(result.rows)));
    expect(client.query(submittable)).toBe(submittable);
    expect(await rows).toEqual([{ three: 3 }]);
  });

  describe('in the pool postgresDatabase opens', () => {
    let database: Database;
    beforeAll(() => {
      database = postgresDatabase(process.env.TEST_DATABASE_URL!, 1);
    });
    afterAll(() => database.close());

    it('serves transactions (what drizzle runs through the promise form)', async () => {
      const seen = await database.db.transaction(async (tx) => {
        const session = (tx as unknown as { session: { client: unknown } }).session;
        const result = await tx.execute('select current_user as role');
        return { client: session.client, rows: rowsOf(result) };
      });
      expect(seen.client).toBeInstanceOf(CallbackQueryClient);
      expect(seen.rows).toEqual([{ role: 'fleece_app' }]);
    });
  });
});
