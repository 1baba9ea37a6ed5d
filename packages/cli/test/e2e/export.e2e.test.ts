import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RealServer } from '../../../testkit/src/index.js';
import { runFleece, useRealServer } from './harness.js';

let server: RealServer;
let home: string;
/** The environment of a CLI logged in (an access token, as `fleece login` stores) to a Pro account. */
let env: Record<string, string>;

useRealServer({ signIn: { email: 'ops@example.test', plan: 'pro' } }, (setup) => {
  ({ server, home, env } = setup);
});

describe('fleece account consent and fleece export against a real server (PGlite)', {
  timeout: 90_000,
}, () => {
  it('grants ai_processing, then exports to a verified file (NDJSON and zip); a key without the export scope exits 4', async () => {
    const granted = await runFleece(['account', 'consent', 'ai_processing', '--grant'], { home, env });
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stderr).toMatch(/^✓ Granted ai_processing \(policy \d{4}-\d{2}-\d{2}\)\.\n$/);
    const listed = await runFleece(['account', 'consent', '--json'], { home, env });
    const consents = JSON.parse(listed.stdout) as { data: { type: string; granted: boolean }[] };
    expect(consents.data.map((c) => [c.type, c.granted])).toEqual([
      ['ai_processing', true],
      ['product_email', false],
      ['terms', false],
    ]);

    const target = join(home, 'mine.ndjson');
    const exported = await runFleece(['export', '-o', target, '--json'], { home, env });
    expect(exported.code, exported.stderr).toBe(0);
    const summary = JSON.parse(exported.stdout) as { path: string; sha256: string; records: number };
    expect(summary.path).toBe(target);
    const text = await readFile(target, 'utf8');
    const lines = text.trimEnd().split('\n');
    const trailer = JSON.parse(lines.at(-1)!) as {
      sha256: string;
      records: number;
      counts: Record<string, number>;
    };
    const body = text.slice(0, text.length - Buffer.byteLength(`${lines.at(-1)}\n`));
    expect(createHash('sha256').update(body).digest('hex')).toBe(trailer.sha256);
    expect(summary).toMatchObject({ sha256: trailer.sha256, records: trailer.records });
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'header', formatVersion: 1 });
    expect(trailer.counts).toMatchObject({ profile: 1, consent: 3 });
    expect(text).toContain('"type":"audit_event"');
    expect((await stat(target)).mode & 0o777).toBe(0o600);

    const zipTarget = join(home, 'mine.zip');
    const zipped = await runFleece(['export', '--format', 'zip', '-o', zipTarget], { home, env });
    expect(zipped.code, zipped.stderr).toBe(0);
    expect(zipped.stderr).toContain('checksum verified');
    expect((await readFile(zipTarget)).subarray(0, 2).toString('latin1')).toBe('PK');

    const created = await runFleece(['keys', 'create', '--name', 'reader', '--scopes', 'read', '--json'], {
      home,
      env,
    });
    const { key } = JSON.parse(created.stdout) as { key: string };
    const denied = await runFleece(['export', '-o', join(home, 'denied.ndjson')], {
      home,
      env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: server.url },
    });
    expect(denied.code).toBe(4);
    expect(denied.stderr).toContain('`export` scope');
    expect((await readdir(home)).filter((f) => f.includes('denied'))).toEqual([]);
  });

  it('-o <dir> writes fleece-export-<time>.ndjson inside it; a path that cannot be written is refused before any export request (none of the 5 an hour spent)', async () => {
    /** Requests for the export that reached the server (its request log), and exports it recorded. */
    const exportRequests = () => server.logs.filter((line) => line.includes('/api/v1/export')).length;
    const exportsAudited = async () => {
      const listed = await runFleece(['audit', 'list', '--action', 'data.exported', '--json'], { home, env });
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as { data: unknown[] }).data.length;
    };
    const requestsBefore = exportRequests();
    expect(requestsBefore).toBeGreaterThan(0);
    const auditedBefore = await exportsAudited();

    const aFile = join(home, 'a-file');
    await writeFile(aFile, 'not a directory');
    const refusals: Array<[string[], string]> = [
      [['-o', `${join(home, 'missing')}/`], `cannot write to ${join(home, 'missing')}: no such directory.`],
      [['-o', `${aFile}/`], `cannot write to ${aFile}: not a directory.`],
      [
        ['-o', join(home, 'missing', 'x.ndjson')],
        `cannot write to ${join(home, 'missing')}: no such directory.`,
      ],
      [['-o', aFile], `${aFile} already exists.`],
    ];
    if (process.getuid?.() !== 0) {
      // Root writes anywhere, so an unwritable directory is only one for other users.
      const locked = join(home, 'locked');
      await mkdir(locked, { mode: 0o500 });
      await chmod(locked, 0o500);
      refusals.push([['-o', locked], `cannot write to ${locked}: permission denied.`]);
    }
    for (const [args, message] of refusals) {
      const refused = await runFleece(['export', ...args], { home, env });
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(`error: ${message}\n`);
    }
    expect(exportRequests()).toBe(requestsBefore);
    expect(await exportsAudited()).toBe(auditedBefore);

    const dir = join(home, 'exports');
    await mkdir(dir);
    const exported = await runFleece(['export', '-o', dir, '--json'], { home, env });
    expect(exported.code, exported.stderr).toBe(0);
    const { path } = JSON.parse(exported.stdout) as { path: string };
    expect(path).toMatch(new RegExp(`^${dir}/fleece-export-\\d{8}-\\d{6}\\.ndjson$`));
    expect(await readdir(dir)).toEqual([path.slice(dir.length + 1)]);
    expect((await readFile(path, 'utf8')).startsWith('{"type":"header"')).toBe(true);
    expect(exportRequests()).toBeGreaterThan(requestsBefore);
    await expect.poll(exportsAudited).toBe(auditedBefore + 1);
  });
});
