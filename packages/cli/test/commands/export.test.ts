import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_URL, exportNdjson, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };

/** A zip archive holding one stored (uncompressed) file: enough of PKWARE's APPNOTE for a reader. */
function storedZip(name: string, data: Buffer): Buffer {
  const fileName = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const centralOffset = local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, data, central, fileName, end]);
}

const RECORDS = [
  { type: 'profile', data: { id: 'usr_1', email: 'ada@example.com' } },
  ...Array.from({ length: 20 }, (_, i) => ({
    type: 'execution',
    data: { id: `exe_${i}`, input: `hi ${i}` },
  })),
];

function exportServer(body: () => Response) {
  const formats: (string | null)[] = [];
  server.use(
    http.get(`${BASE_URL}/api/v1/export`, ({ request }) => {
      formats.push(new URL(request.url).searchParams.get('format'));
      return body();
    }),
  );
  return formats;
}

const ndjsonResponse = (text: string) =>
  new HttpResponse(text, { headers: { 'content-type': 'application/x-ndjson', 'x-request-id': 'req_x' } });

describe('fleece export', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleece-cli-export-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes a verified NDJSON export atomically (mode 0600) and says what it wrote', async () => {
    const text = exportNdjson(RECORDS);
    const formats = exportServer(() => ndjsonResponse(text));
    const target = join(dir, 'mine.ndjson');
    const result = await runCli(['export', '-o', target], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(formats).toEqual(['ndjson']);
    expect(await readFile(target, 'utf8')).toBe(text);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['mine.ndjson']);
    expect(result.stdout).toBe('');
    const sha = JSON.parse(text.trimEnd().split('\n').at(-1)!).sha256;
    expect(result.stderr).toBe(
      `✓ Exported 21 records (${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB) to ${target}, checksum verified.\n` +
        `SHA-256 of the body (as in the trailer): ${sha}\n`,
    );
  });

  it('prints a stable JSON summary with --json', async () => {
    const text = exportNdjson(RECORDS);
    exportServer(() => ndjsonResponse(text));
    const target = join(dir, 'mine.ndjson');
    const result = await runCli(['export', '-o', target, '--json'], { env });
    const trailer = JSON.parse(text.trimEnd().split('\n').at(-1)!);
    expect(JSON.parse(result.stdout)).toEqual({
      path: target,
      format: 'ndjson',
      bytes: Buffer.byteLength(text),
      records: 21,
      counts: trailer.counts,
      sha256: trailer.sha256,
    });
  });

  it('fails on a checksum mismatch (exit 1) and leaves no file, nor a temporary one', async () => {
    exportServer(() => ndjsonResponse(exportNdjson(RECORDS, (b) => b.replace('hi 3', 'hi 4'))));
    const target = join(dir, 'mine.ndjson');
    const result = await runCli(['export', '-o', target], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: The export does not match its checksum/);
    expect(result.stderr).toContain(
      'hint: Nothing was written under the target name. Run `fleece export` again.',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails on an export cut short, leaving an existing file under the target name untouched', async () => {
    const text = exportNdjson(RECORDS);
    exportServer(() => ndjsonResponse(text.slice(0, text.indexOf('{"type":"trailer"'))));
    const target = join(dir, 'mine.ndjson');
    await writeFile(target, 'yesterday');
    const result = await runCli(['export', '-o', target, '--force'], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/incomplete: it has no trailer/);
    expect(await readFile(target, 'utf8')).toBe('yesterday');
    expect(await readdir(dir)).toEqual(['mine.ndjson']);
  });

  it('refuses to replace an existing file without --force (exit 2, nothing sent)', async () => {
    const formats = exportServer(() => ndjsonResponse(exportNdjson(RECORDS)));
    const target = join(dir, 'mine.ndjson');
    await writeFile(target, 'keep me');
    const result = await runCli(['export', '-o', target], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `error: ${target} already exists.\nhint: Choose another name with -o, or pass --force to replace it.\n`,
    );
    expect(formats).toEqual([]);
    expect(await readFile(target, 'utf8')).toBe('keep me');
  });

  it('downloads a zip and verifies the NDJSON inside it', async () => {
    const text = exportNdjson(RECORDS);
    const formats = exportServer(
      () =>
        new HttpResponse(storedZip('fleece-export.ndjson', Buffer.from(text)), {
          headers: { 'content-type': 'application/zip' },
        }),
    );
    const target = join(dir, 'mine.zip');
    const result = await runCli(['export', '--format', 'zip', '-o', target, '--json'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(formats).toEqual(['zip']);
    expect(JSON.parse(result.stdout)).toMatchObject({ format: 'zip', records: 21, path: target });
    expect((await readFile(target)).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
  });

  it('rejects a zip whose NDJSON does not verify', async () => {
    const bad = exportNdjson(RECORDS, (b) => b.replace('hi 3', 'hi 4'));
    exportServer(
      () =>
        new HttpResponse(storedZip('fleece-export.ndjson', Buffer.from(bad)), {
          headers: { 'content-type': 'application/zip' },
        }),
    );
    const target = join(dir, 'mine.zip');
    const result = await runCli(['export', '--format', 'zip', '-o', target], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/does not match its checksum/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('exits 2 on an unknown --format, and 5 when rate-limited (5 an hour), naming the wait', async () => {
    const bad = await runCli(['export', '--format', 'tar', '-o', join(dir, 'x')], { env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--format must be ndjson or zip, not "tar".');
    exportServer(() =>
      problem(
        429,
        'rate_limited',
        { detail: 'Too many requests. Try again in 1800 seconds.' },
        { 'retry-after': '1800' },
      ),
    );
    const limited = await runCli(['export', '-o', join(dir, 'x.ndjson')], { env });
    expect(limited.exitCode).toBe(5);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a target directory that does not exist (exit 2, one line and a hint, nothing requested)', async () => {
    const formats = exportServer(() => ndjsonResponse(exportNdjson(RECORDS)));
    const missing = join(dir, 'nonexistent-dir');
    const result = await runCli(['export', '-o', join(missing, 'x.ndjson')], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `error: cannot write to ${missing}: no such directory.\n` +
        'hint: Pass -o with a file in an existing directory you can write to (create it first with mkdir -p); nothing was written.\n',
    );
    expect(formats).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('-o <dir> (existing, or ending in /) writes fleece-export-<UTC time>.<format> inside it', async () => {
    const formats = exportServer(() => ndjsonResponse(exportNdjson(RECORDS)));
    const now = () => Date.parse('2026-11-29T14:05:01.000Z');
    const existing = await runCli(['export', '-o', dir, '--json'], { env, now });
    expect(existing.exitCode, existing.stderr).toBe(0);
    expect(JSON.parse(existing.stdout).path).toBe(join(dir, 'fleece-export-20261129-140501.ndjson'));
    await mkdir(join(dir, 'sub'));
    const slash = await runCli(['export', '-o', `${join(dir, 'sub')}/`], { env, now });
    expect(slash.exitCode, slash.stderr).toBe(0);
    expect(await readdir(join(dir, 'sub'))).toEqual(['fleece-export-20261129-140501.ndjson']);
    // The same name again is an existing file: refused before anything is requested.
    const again = await runCli(['export', '-o', dir], { env, now });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(
      `error: ${join(dir, 'fleece-export-20261129-140501.ndjson')} already exists.\n`,
    );
    expect(formats).toHaveLength(2);
  });

  it('refuses a target whose directory is a file (exit 2)', async () => {
    await writeFile(join(dir, 'plain'), '');
    const result = await runCli(['export', '-o', join(dir, 'plain', 'x.ndjson')], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`error: cannot write to ${join(dir, 'plain')}: not a directory.`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('takes the format from the extension of -o, and refuses a contradicting --format (exit 2)', async () => {
    const text = exportNdjson(RECORDS);
    const formats = exportServer(
      () =>
        new HttpResponse(storedZip('fleece-export.ndjson', Buffer.from(text)), {
          headers: { 'content-type': 'application/zip' },
        }),
    );
    const zip = await runCli(['export', '-o', join(dir, 'mine.zip'), '--json'], { env });
    expect(zip.exitCode, zip.stderr).toBe(0);
    expect(formats).toEqual(['zip']);
    const contradiction = await runCli(['export', '-o', join(dir, 'x.ndjson'), '--format', 'zip'], { env });
    expect(contradiction.exitCode).toBe(2);
    expect(contradiction.stderr).toBe(
      `error: -o ${join(dir, 'x.ndjson')} names a different format than --format zip.\n` +
        'hint: Give the file a .zip name, or leave out --format (the extension of -o picks it).\n',
    );
    expect(formats).toEqual(['zip']);
    expect(await readdir(dir)).toEqual(['mine.zip']);
  });
});

describe('fleece account consent', () => {
  const CONSENTS = [
    {
      type: 'ai_processing',
      granted: false,
      policyVersion: null,
      currentPolicyVersion: '2026-11-01',
      updatedAt: null,
    },
    {
      type: 'product_email',
      granted: false,
      policyVersion: '2026-11-01',
      currentPolicyVersion: '2026-11-01',
      updatedAt: '2026-02-01T10:00:00.000Z',
    },
    {
      type: 'terms',
      granted: true,
      policyVersion: '2026-11-01',
      currentPolicyVersion: '2026-11-01',
      updatedAt: '2026-01-15T10:00:00.000Z',
    },
  ];

  function consentServer() {
    const puts: { type: string; body: unknown }[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/account/consents`, () => HttpResponse.json({ data: CONSENTS })),
      http.put(`${BASE_URL}/api/v1/account/consents/:type`, async ({ params, request }) => {
        const body = (await request.json()) as { granted: boolean };
        puts.push({ type: String(params.type), body });
        const current = CONSENTS.find((c) => c.type === params.type)!;
        return HttpResponse.json({
          ...current,
          granted: body.granted,
          policyVersion: '2026-11-01',
          updatedAt: '2026-03-01T09:00:00.000Z',
        });
      }),
    );
    return puts;
  }

  it('lists every consent, and says how to grant ai_processing when it is missing', async () => {
    consentServer();
    const result = await runCli(['account', 'consent'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      'ai_processing:  not granted (never decided)\n' +
        'product_email:  not granted (revoked 2026-02-01)\n' +
        'terms:          granted (policy 2026-11-01, 2026-01-15)\n',
    );
    expect(result.stderr).toBe(
      'Running agents and chatting need ai_processing: grant it with `fleece account consent ai_processing --grant`.\n',
    );
  });

  it('grants and revokes one, sending {granted}', async () => {
    const puts = consentServer();
    const granted = await runCli(['account', 'consent', 'ai_processing', '--grant'], { env });
    expect(granted.exitCode).toBe(0);
    expect(granted.stderr).toBe('✓ Granted ai_processing (policy 2026-11-01).\n');
    const revoked = await runCli(['account', 'consent', 'terms', '--revoke', '--json'], { env });
    expect(JSON.parse(revoked.stdout)).toMatchObject({ type: 'terms', granted: false });
    expect(puts).toEqual([
      { type: 'ai_processing', body: { granted: true } },
      { type: 'terms', body: { granted: false } },
    ]);
  });

  it.each([
    [['account', 'consent', 'marketing', '--grant'], 'Unknown consent "marketing"'],
    [['account', 'consent', '--grant'], 'Name the consent to change'],
    [['account', 'consent', 'terms', '--grant', '--revoke'], 'Pass either --grant or --revoke, not both.'],
  ])('exits 2 for %j before sending anything', async (args, message) => {
    const puts = consentServer();
    const result = await runCli(args, { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(puts).toEqual([]);
  });
});
