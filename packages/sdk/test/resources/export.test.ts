import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_URL, exportNdjson, useMsw } from '../../../testkit/src/index.js';
import {
  APIUserAbortError,
  ExportVerificationError,
  ExportVerifier,
  PermissionDeniedError,
  RateLimitError,
} from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const CONSENT = {
  type: 'ai_processing',
  granted: true,
  policyVersion: '2026-11-01',
  currentPolicyVersion: '2026-11-01',
  updatedAt: '2026-11-29T10:00:00.000Z',
};

const RECORDS = [
  { type: 'consent', data: CONSENT },
  { type: 'consent', data: { ...CONSENT, type: 'terms', granted: false } },
  ...Array.from({ length: 50 }, (_, i) => ({
    type: 'agent',
    data: { id: `agt_${i}`, name: `agent ${i} é` },
  })),
];

/** A streaming response of `text` in chunks of `size` bytes (splitting lines and characters anywhere). */
function chunked(text: string, size: number, headers: Record<string, string> = {}): Response {
  const bytes = Buffer.from(text);
  let offset = 0;
  return new HttpResponse(
    new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(offset, offset + size));
        offset += size;
      },
    }),
    {
      headers: {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'x-request-id': 'req_export',
        ...headers,
      },
    },
  );
}

describe('client.export.download', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleece-sdk-export-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes a verified NDJSON export to a file atomically (mode 0600), reporting bytes and records', async () => {
    const text = exportNdjson(RECORDS);
    const queries: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/export`, ({ request }) => {
        queries.push(new URL(request.url).search);
        return chunked(text, 37);
      }),
    );
    const progress: { bytes: number; records: number | undefined }[] = [];
    const target = join(dir, 'export.ndjson');
    const result = await mswClient().export.download(target, { onProgress: (p) => progress.push(p) });
    expect(queries).toEqual(['?format=ndjson']);
    expect(await readFile(target, 'utf8')).toBe(text);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['export.ndjson']);
    expect(result).toMatchObject({
      format: 'ndjson',
      bytes: Buffer.byteLength(text),
      path: target,
      requestId: 'req_export',
      header: { type: 'header', userId: 'usr_1' },
      trailer: { records: 52, counts: expect.objectContaining({ consent: 2, agent: 50 }) },
    });
    expect(progress.at(-1)).toEqual({ bytes: Buffer.byteLength(text), records: 52 });
    expect(progress.map((p) => p.bytes)).toEqual([...progress.map((p) => p.bytes)].sort((a, b) => a - b));
  });

  it('fails on a checksum mismatch and leaves no file under the target name, nor a temporary one', async () => {
    const text = exportNdjson(RECORDS, (body) => body.replace('agent 7 é', 'agent 7 e'));
    server.use(http.get(`${BASE_URL}/api/v1/export`, () => chunked(text, 64)));
    const target = join(dir, 'export.ndjson');
    const failure = mswClient().export.download(target);
    await expect(failure).rejects.toThrow(ExportVerificationError);
    await expect(failure).rejects.toThrow(/does not match its checksum/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails on an export cut short (no trailer)', async () => {
    const text = exportNdjson(RECORDS);
    const cut = text.slice(0, text.lastIndexOf('{"type":"trailer"'));
    server.use(http.get(`${BASE_URL}/api/v1/export`, () => chunked(cut, 100)));
    const target = join(dir, 'export.ndjson');
    await expect(mswClient().export.download(target)).rejects.toThrow(/incomplete: it has no trailer/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('streams a zip into a Writable unchanged (records unknown for compressed bytes)', async () => {
    const zip = Buffer.from('PK\x03\x04 not really a zip, passed through as bytes');
    server.use(
      http.get(`${BASE_URL}/api/v1/export`, ({ request }) => {
        expect(new URL(request.url).searchParams.get('format')).toBe('zip');
        expect(request.headers.get('accept')).toBe('application/zip');
        return new HttpResponse(zip, { headers: { 'content-type': 'application/zip' } });
      }),
    );
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const progress: { bytes: number; records: number | undefined }[] = [];
    const result = await mswClient().export.download(sink, {
      format: 'zip',
      onProgress: (p) => progress.push(p),
    });
    expect(Buffer.concat(chunks)).toEqual(zip);
    expect(sink.writableEnded).toBe(true);
    expect(result).toMatchObject({ format: 'zip', bytes: zip.length, path: undefined, trailer: undefined });
    expect(progress.at(-1)).toEqual({ bytes: zip.length, records: undefined });
  });

  it('stops when aborted mid-stream: APIUserAbortError, nothing under the target name', async () => {
    const text = exportNdjson(RECORDS);
    server.use(
      http.get(
        `${BASE_URL}/api/v1/export`,
        () =>
          new HttpResponse(
            new ReadableStream({
              start(controller) {
                controller.enqueue(Buffer.from(text.slice(0, 200)));
                // …and nothing more: the client gives up.
              },
            }),
            { headers: { 'content-type': 'application/x-ndjson' } },
          ),
      ),
    );
    const abort = new AbortController();
    const target = join(dir, 'export.ndjson');
    const failure = mswClient().export.download(target, {
      signal: abort.signal,
      onProgress: () => abort.abort(),
    });
    await expect(failure).rejects.toThrow(APIUserAbortError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects 429 with RateLimitError (retryAfter) and a key without the export scope with 403', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/export`, () =>
        problem(429, 'rate_limited', { detail: 'Too many requests.' }, { 'retry-after': '1800' }),
      ),
    );
    const limited = await mswClient({ maxRetries: 0 })
      .export.download(join(dir, 'x.ndjson'))
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfter).toBe(1800);
    server.use(
      http.get(`${BASE_URL}/api/v1/export`, () => problem(403, 'insufficient_scope', { scope: 'export' })),
    );
    const denied = await mswClient()
      .export.download(join(dir, 'x.ndjson'))
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as PermissionDeniedError).code).toBe('insufficient_scope');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('ExportVerifier', () => {
  it('verifies however the bytes are split, and names what differs', () => {
    const text = Buffer.from(exportNdjson(RECORDS));
    for (const size of [1, 2, 3, 7, 1000, text.length]) {
      const verifier = new ExportVerifier();
      for (let i = 0; i < text.length; i += size) verifier.update(text.subarray(i, i + size));
      expect(verifier.finish().trailer.records).toBe(52);
    }
    const wrongCount = exportNdjson(RECORDS).replace('"agent":50', '"agent":49');
    const verifier = new ExportVerifier();
    verifier.update(Buffer.from(wrongCount));
    expect(() => verifier.finish()).toThrow('trailer counts 49 agent records, the body has 50');
    const noHeader = new ExportVerifier();
    expect(() => noHeader.update(Buffer.from('{"type":"agent","data":{}}\n'))).toThrow(/header line/);
  });
});

describe('client.account.consents', () => {
  it('lists consents and sets one with PUT {granted}', async () => {
    const puts: { path: string; body: unknown }[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/account/consents`, () => HttpResponse.json({ data: [CONSENT] })),
      http.put(`${BASE_URL}/api/v1/account/consents/:type`, async ({ request, params }) => {
        puts.push({ path: String(params.type), body: await request.json() });
        return HttpResponse.json({ ...CONSENT, granted: false });
      }),
    );
    const client = mswClient({ apiKey: undefined, accessToken: 'at_1' });
    expect(await client.account.consents.list()).toEqual({ data: [CONSENT] });
    expect(await client.account.consents.set('ai_processing', false)).toEqual({ ...CONSENT, granted: false });
    expect(puts).toEqual([{ path: 'ai_processing', body: { granted: false } }]);
  });

  it('rejects a change with an API key as PermissionDeniedError (forbidden)', async () => {
    server.use(
      http.put(`${BASE_URL}/api/v1/account/consents/:type`, () =>
        problem(403, 'forbidden', { detail: 'API keys cannot do this.' }),
      ),
    );
    const error = await mswClient()
      .account.consents.set('terms', true)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
  });
});
