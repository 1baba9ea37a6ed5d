import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPglite } from '../src/db/client.js';
import { exitCode, spawnServer } from './helpers/process.js';

describe('embedded database directory', () => {
  it('gives a second process a clear error instead of sharing the directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fleece-data-'));
    const { pglite, release } = await openPglite(dir);
    try {
      const child = spawnServer(['migrate'], { FLEECE_DATA_DIR: dir });
      expect(await exitCode(child)).toBe(1);
      expect(child.output().trim()).toBe(
        `fleece-server: The embedded database at ${dir} is in use by another Fleece process. Stop that process (if it crashed, its lock lapses within 15 s), or give this one its own FLEECE_DATA_DIR, or point both at PostgreSQL with DATABASE_URL.`,
      );
    } finally {
      await pglite.close();
      await release();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps data across restarts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fleece-data-'));
    try {
      const first = await openPglite(dir);
      await first.pglite.exec('create table kept (v text); insert into kept values ($$still here$$);');
      await first.pglite.close();
      await first.release();
      const second = await openPglite(dir);
      expect((await second.pglite.query<{ v: string }>('select v from kept')).rows).toEqual([
        { v: 'still here' },
      ]);
      await second.pglite.close();
      await second.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
