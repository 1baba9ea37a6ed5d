import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EXPORT_RECORD_TYPES,
  EXPORT_ZIP_ENTRY,
  ExportDataRecord,
  ExportHeader,
  ExportTrailer,
} from '@fleece/sdk/contract';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { rowsOf } from '../../src/db/client.js';
import { executions } from '../../src/db/schema/ai.js';
import { withUser } from '../../src/db/tenant.js';
import { EXPORT_BATCH_ROWS, EXPORT_PLANNER_SETTINGS, keysetBatch } from '../../src/modules/export/service.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { exportedEvents, seedUserExecutions, stoppedExport } from '../helpers/export.js';
import { deviceTokens, signIn } from '../helpers/identity.js';
import { seededText } from '../helpers/seed.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

/** The top plan node of `EXPLAIN (FORMAT JSON)` output (PostgreSQL returns JSON; PGlite may return text). */
function planOf(value: unknown): PlanNode {
  const parsed = (typeof value === 'string' ? JSON.parse(value) : value) as { Plan: PlanNode }[];
  return parsed[0]!.Plan;
}

/** An export split into its lines, checked for shape, order, counts and checksum. */
function parseExport(body: Buffer) {
  const text = body.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  const header = ExportHeader.parse(JSON.parse(lines[0]!));
  const trailer = ExportTrailer.parse(JSON.parse(lines.at(-1)!));
  const records = lines.slice(1, -1).map((l) => ExportDataRecord.parse(JSON.parse(l)));
  // The body is every byte before the trailer line.
  const bodyBytes = Buffer.byteLength(text) - Buffer.byteLength(`${lines.at(-1)!}\n`);
  const hashed = body.subarray(0, bodyBytes);
  expect(trailer.bytes).toBe(bodyBytes);
  expect(trailer.sha256).toBe(createHash('sha256').update(hashed).digest('hex'));
  const counts = Object.fromEntries(EXPORT_RECORD_TYPES.map((t) => [t, 0]));
  for (const r of records) counts[r.type]!++;
  expect(trailer.counts).toEqual(counts);
  expect(trailer.records).toBe(records.length);
  // Grouped by type, in the documented order.
  const order = records.map((r) => EXPORT_RECORD_TYPES.indexOf(r.type));
  expect(order).toEqual([...order].sort((a, b) => a - b));
  const of = <T extends ExportDataRecord['type']>(type: T) =>
    records.filter((r) => r.type === type).map((r) => r.data) as Extract<
      ExportDataRecord,
      { type: T }
    >['data'][];
  return { header, trailer, records, of, text };
}

function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, file) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      file.on('entry', (entry: yauzl.Entry) => {
        file.openReadStream(entry, (err, stream) => {
          if (err) return reject(err);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
        });
      });
      file.on('end', () => resolve(entries));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

describe('data export (issue 7)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const exportAs = async (headers: Record<string, string>, query = '') => {
    const res = await t.app.inject({ url: `/api/v1/export${query}`, headers });
    await t.app.exports.settled();
    return res;
  };
  const post = (user: TestUser, url: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url, headers: asSession(t, user), payload });

  /** Gives `user` one of everything: agent, execution, conversation, consents, key, CLI session, identity. */
  async function populate(user: TestUser) {
    const agent = (await post(user, '/api/v1/agents', { name: 'helper', instructions: 'Be brief.' })).json();
    const execution = (
      await post(user, `/api/v1/agents/${agent.id}/execute`, { input: 'secret plan' })
    ).json();
    expect(execution.status).toBe('succeeded');
    const chat = (await post(user, '/api/v1/chat', { message: 'hello there' })).json();
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/account/consents/terms',
      headers: asSession(t, user),
      payload: { granted: true },
    });
    const flow = (
      await post(user, '/api/v1/flows', {
        name: 'pipeline',
        steps: [{ name: 'first', agentId: agent.id, input: '{{input}}' }],
        callbackUrl: 'https://hooks.example.com/fleece',
      })
    ).json();
    expect(flow.callbackSecret).toMatch(/^whsec_/);
    const key = await createKey(t, user, { name: 'ci', scopes: ['read', 'export'] });
    const tokens = await deviceTokens(t, user.cookie);
    await t.db.ownerQuery(
      `insert into identities (id, user_id, provider, subject, email, email_verified, created_at, updated_at)
       values ($1, $2, 'github', $3, $4, true, now(), now())`,
      [`idn_${user.userId.slice(4)}`, user.userId, `gh-${user.userId}`, user.email],
    );
    return { agent, execution, chat, key, tokens, flow };
  }

  it('streams everything the caller owns as NDJSON: header, records by type, trailer with counts and SHA-256', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    const mine = await populate(ada);
    const theirs = await populate(bob);

    const res = await exportAs({ cookie: ada.cookie });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="fleece-export-20260101T000000Z.ndjson"',
    );
    expect(res.headers['cache-control']).toBe('no-store');
    const { header, trailer, of, text } = parseExport(res.rawPayload);
    expect(header).toEqual({
      type: 'header',
      formatVersion: 1,
      exportedAt: '2026-01-01T00:00:00.000Z',
      userId: ada.userId,
    });

    expect(of('profile')).toEqual([
      expect.objectContaining({ id: ada.userId, email: 'ada@example.test', plan: 'pro', status: 'active' }),
    ]);
    expect(of('identity')).toEqual([
      expect.objectContaining({ provider: 'github', subject: `gh-${ada.userId}`, email: ada.email }),
    ]);
    expect(of('api_key')).toEqual([
      expect.objectContaining({ id: mine.key.id, name: 'ci', scopes: ['read', 'export'], revokedAt: null }),
    ]);
    expect(of('api_key')[0]!.start).toBe(mine.key.key.slice(4, 12));
    const sessions = of('session');
    expect(sessions.map((s) => s.kind).sort()).toEqual(['browser', 'cli']);
    expect(of('agent')).toEqual([mine.agent]);
    const [execution] = of('execution');
    expect(execution).toEqual(mine.execution);
    expect(execution!.input).toBe('secret plan');
    expect(execution!.output).toEqual(expect.any(String));
    const [conversation] = of('conversation');
    expect(conversation!.id).toBe(mine.chat.conversationId);
    expect(conversation!.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'hello there'],
      ['assistant', mine.chat.message.content],
    ]);
    expect(of('consent').map((c) => [c.type, c.granted])).toEqual([
      ['ai_processing', true],
      ['product_email', false],
      ['terms', true],
    ]);
    const actions = of('audit_event').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['agent.created', 'consent.granted', 'api_key.created']));
    const { callbackSecret: _shownOnce, ...flow } = mine.flow;
    expect(of('flow')).toEqual([flow]);
    expect(of('flow')[0]!.hasCallbackSecret).toBe(true);
    expect(trailer.counts).toMatchObject({
      profile: 1,
      identity: 1,
      api_key: 1,
      agent: 1,
      flow: 1,
      execution: 1,
    });

    // Nothing of Bob's.
    for (const id of [
      bob.userId,
      bob.email,
      theirs.agent.id,
      theirs.execution.id,
      theirs.key.id,
      theirs.flow.id,
    ]) {
      expect(text).not.toContain(id);
    }
    expect(text).not.toContain(theirs.chat.conversationId);
  });

  it('contains no secrets: no key, key hash, token, token hash or ciphertext', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const mine = await populate(ada);
    const res = await exportAs({ cookie: ada.cookie });
    const text = res.body;
    const secrets: string[] = [
      mine.key.key,
      mine.tokens.access_token,
      mine.tokens.refresh_token!,
      ada.cookie.split('=')[1]!,
      mine.flow.callbackSecret,
    ];
    for (const row of await t.db.ownerQuery<{ h: string }>(
      `select key_hash as h from api_keys union all select token_hash from refresh_tokens
       union all select code_hash from authorization_codes union all select device_code_hash from device_authorizations
       union all select token_hash from magic_link_tokens`,
    )) {
      secrets.push(row.h);
    }
    for (const row of await t.db.ownerQuery<{ c: Buffer }>(
      `select input as c from executions union all select output from executions where output is not null
       union all select content from chat_messages union all select data from execution_events
       union all select callback_secret from flows where callback_secret is not null`,
    )) {
      const c = Buffer.from(row.c);
      secrets.push(c.toString('hex'), c.toString('base64'), c.subarray(17, 33).toString('base64'));
    }
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/"(keyHash|tokenHash|codeHash|deviceCodeHash|key_hash|token_hash|wrappedKey)"/);
    expect(text).not.toMatch(/flc_[A-Za-z0-9]{20}/);
  });

  it('gives the same content as a zip archive holding the NDJSON file', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await populate(ada);
    const zipped = await exportAs({ cookie: ada.cookie }, '?format=zip');
    expect(zipped.statusCode).toBe(200);
    expect(zipped.headers['content-type']).toBe('application/zip');
    expect(zipped.headers['content-disposition']).toBe(
      'attachment; filename="fleece-export-20260101T000000Z.zip"',
    );
    const entries = await unzip(zipped.rawPayload);
    expect([...entries.keys()]).toEqual([EXPORT_ZIP_ENTRY]);
    const fromZip = parseExport(entries.get(EXPORT_ZIP_ENTRY)!);

    const plain = parseExport((await exportAs({ cookie: ada.cookie })).rawPayload);
    expect(fromZip.header).toEqual(plain.header);
    const notAudit = (r: ExportDataRecord) => r.type !== 'audit_event';
    expect(fromZip.records.filter(notAudit)).toEqual(plain.records.filter(notAudit));
    // The plain export came second: its log holds one more event, the zip export's own data.exported.
    const zipEvents = fromZip.of('audit_event');
    const plainEvents = plain.of('audit_event');
    expect(plainEvents.slice(0, zipEvents.length)).toEqual(zipEvents);
    expect(plainEvents.slice(zipEvents.length).map((e) => [e.action, e.metadata.format])).toEqual([
      ['data.exported', 'zip'],
    ]);
  });

  it('records data.exported once the response is delivered, with the trailer figures', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const res = await exportAs({ cookie: ada.cookie });
    const { trailer } = parseExport(res.rawPayload);
    const exported = await exportedEvents(t);
    expect(exported).toEqual([
      {
        action: 'data.exported',
        outcome: 'success',
        resource_id: expect.any(String),
        metadata: {
          format: 'ndjson',
          completed: true,
          formatVersion: 1,
          records: trailer.records,
          bytes: trailer.bytes,
          sha256: trailer.sha256,
          counts: trailer.counts,
        },
      },
    ]);
  });

  it('needs the export scope on an API key (403 insufficient_scope without it)', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const readOnly = await createKey(t, ada, { name: 'read', scopes: ['read'] });
    const exporter = await createKey(t, ada, { name: 'export', scopes: ['export'] });
    const denied = await exportAs(bearer(readOnly.key));
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'insufficient_scope', scope: 'export' });
    const allowed = await exportAs(bearer(exporter.key));
    expect(allowed.statusCode).toBe(200);
    expect(parseExport(allowed.rawPayload).header.userId).toBe(ada.userId);
    expect((await exportAs({})).statusCode).toBe(401);
    const bad = await exportAs({ cookie: ada.cookie }, '?format=tar');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
  });

  it('allows 5 exports an hour per user, then 429 with Retry-After', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const bob = await userOnPlan(t, 'bob@example.test', 'pro');
    for (let i = 0; i < 5; i++) {
      const res = await exportAs({ cookie: ada.cookie });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    const limited = await exportAs({ cookie: ada.cookie });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3_000);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3_600);
    expect((await exportAs({ cookie: bob.cookie })).statusCode).toBe(200);
  });

  it('regression F5: HEAD /api/v1/export exports nothing (405, Allow: GET) and adds no budget to the 5 an hour', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const head = () =>
      t.app.inject({ method: 'HEAD', url: '/api/v1/export', headers: { cookie: ada.cookie } });
    const before = await head();
    expect(before.statusCode).toBe(405);
    expect(before.headers.allow).toBe('GET');
    for (let i = 0; i < 5; i++) expect((await exportAs({ cookie: ada.cookie })).statusCode).toBe(200);
    expect((await exportAs({ cookie: ada.cookie })).statusCode).toBe(429);
    for (let i = 0; i < 5; i++) {
      const res = await head();
      expect(res.statusCode).toBe(405);
      expect(res.rawPayload.length).toBe(0);
    }
    await t.app.exports.settled();
    expect(await exportedEvents(t)).toHaveLength(5);
  });

  // Seeds and streams megabytes (more than the loopback socket buffers hold): slower than most tests.
  it('stops when the client aborts mid-stream: nothing recorded as completed, one charge, server keeps serving', {
    timeout: 120_000,
  }, async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await seedUserExecutions(t, ada, 4_000, { inputBytes: 4_096 });
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const firstLine = await new Promise<string>((resolve, reject) => {
      const req = http.get({
        host: '127.0.0.1',
        port,
        path: '/api/v1/export',
        headers: { cookie: ada.cookie },
      });
      req.on('error', () => {});
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', (chunk: Buffer) => {
          // Read one chunk (the header is in it), then hang up while the server is still streaming.
          req.destroy();
          resolve(chunk.toString('utf8').split('\n')[0]!);
        });
      });
      req.on('close', () => reject(new Error('closed before any data')));
    });
    expect(JSON.parse(firstLine).type).toBe('header');
    await t.app.exports.settled();

    const exported = await exportedEvents(t);
    expect(exported).toEqual([stoppedExport('client_closed')]);
    expect(exported[0]!.metadata.bytesSent).toBeLessThan(4_000 * 4_096);

    // The server still serves, and the aborted attempt cost exactly one of the five.
    const me = await fetch(`${url}/api/v1/me`, { headers: { cookie: ada.cookie } });
    expect(me.status).toBe(200);
    const next = await fetch(`${url}/api/v1/export`, { headers: { cookie: ada.cookie } });
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ratelimit-remaining')).toBe('3');
    const full = parseExport(Buffer.from(await next.arrayBuffer()));
    expect(full.trailer.counts.execution).toBe(4_000);
    expect(full.of('execution')[3_999]!.input).toBe(seededText(3_999, 4_096).input);
    await t.app.exports.settled();
    expect((await exportedEvents(t)).map((e) => e.outcome)).toEqual(['failure', 'success']);
  });

  // Seeds and streams megabytes (more than the loopback socket buffers hold): slower than most tests.
  it('reads one snapshot on PostgreSQL (a row written mid-export is not in it); per-batch reads on PGlite', {
    timeout: 120_000,
  }, async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    await seedUserExecutions(t, ada, 3_000, { inputBytes: 4_096 });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = http.get({
        host: '127.0.0.1',
        port,
        path: '/api/v1/export',
        headers: { cookie: ada.cookie },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let inserted = false;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (inserted || !chunk.includes('"type":"execution"')) return;
          // Executions are being read: write a newer one while the export is still streaming.
          inserted = true;
          res.pause();
          seedUserExecutions(t, ada, 1, { since: new Date('2027-01-01') }).then(() => res.resume(), reject);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
    });
    const { trailer } = parseExport(body);
    expect(trailer.counts.execution).toBe(backend === 'postgres' ? 3_000 : 3_001);
  });

  it('pages through many rows in creation order (keyset batches)', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const ids = await seedUserExecutions(t, ada, 1_234);
    const { of } = parseExport((await exportAs({ cookie: ada.cookie })).rawPayload);
    expect(of('execution').map((e) => e.id)).toEqual(ids);
    expect(of('execution').map((e) => e.input)).toEqual(ids.map((_, i) => seededText(i, 64).input));
  });

  it('reads each batch by an index range scan from the last row, never a sort of the rest (no statistics needed)', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const ids = await seedUserExecutions(t, ada, 2_000);
    const rows = await t.db.ownerQuery<{ created_at: Date }>(
      'select created_at from executions where id = $1',
      [ids[999]],
    );
    const cursor = { createdAt: rows[0]!.created_at, id: ids[999]! };
    const limit = EXPORT_BATCH_ROWS.execution;
    const { where, orderBy } = keysetBatch(executions, ada.userId, cursor);
    const explained = await withUser(t.app.db, ada.userId, async (tx) => {
      await tx.execute(EXPORT_PLANNER_SETTINGS);
      const batch = tx
        .select()
        .from(executions)
        .where(where)
        .orderBy(...orderBy)
        .limit(limit);
      const selected = await batch;
      const [row] = rowsOf<{ 'QUERY PLAN': unknown }>(
        await tx.execute(sql`explain (analyze, format json) ${batch}`),
      );
      return { selected, plan: planOf(row!['QUERY PLAN']) };
    });
    // The batch after the 1,000th row, in order.
    expect(explained.selected.map((r) => r.id)).toEqual(ids.slice(1_000, 1_000 + limit));
    // Limit over an index scan of (user_id, created_at, id) starting at the cursor, which read exactly one
    // batch of rows: no Sort, Incremental Sort or Bitmap Heap Scan anywhere in the plan.
    const { Plans: [scan] = [], ...limitNode } = explained.plan;
    expect(limitNode['Node Type']).toBe('Limit');
    expect(scan).toMatchObject({
      'Node Type': 'Index Scan',
      'Index Name': 'executions_user_id_idx',
      'Actual Rows': limit,
    });
    expect(scan!['Index Cond']).toContain('ROW(created_at, id) > ROW(');
    expect(scan!.Plans).toBeUndefined();
  });

  it('refuses nothing for consent: an export needs no AI consent', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'free', { aiConsent: false });
    await signIn(t, ada.email);
    const res = await exportAs({ cookie: ada.cookie });
    expect(res.statusCode).toBe(200);
    expect(
      parseExport(res.rawPayload)
        .of('consent')
        .every((c) => !c.granted),
    ).toBe(true);
  });
});
