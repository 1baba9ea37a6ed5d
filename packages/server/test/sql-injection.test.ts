import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asSession, type TestUser, userOnPlan } from './helpers/accounts.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Every TypeScript source file of the server, with its text. */
function sources(dir = SRC): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts')
      ? [{ path: path.slice(SRC.length + 1), text: readFileSync(path, 'utf8') }]
      : [];
  });
}

/** Classic injection payloads: quote breaking, stacked statements, comments, tautologies. */
const PAYLOADS = [
  "x'); drop table agents; --",
  "' or '1'='1",
  '"; delete from users where ""="',
  "Robert'); select pg_sleep(5); --",
  '$1 $$ \\x27 %s',
];

describe('SQL injection (claim C19)', () => {
  it('builds no SQL from strings: no sql.raw but of a constant, no unsafe queries, no interpolated query text', () => {
    const offending = sources().flatMap(({ path, text }) =>
      [
        // sql.raw of anything but a module constant (an UPPER_CASE name, such as a schema name).
        /\bsql\.raw\s*\((?!\s*[A-Z][A-Z0-9_]*\s*\))/g,
        /\.unsafe\s*\(/g,
        // A query method called with a template literal that interpolates (`query(\`… ${x}\`)`).
        /\.(?:query|exec|execute)\s*\(\s*`[^`]*\$\{/g,
        // String concatenation into a query call.
        /\.(?:query|exec)\s*\(\s*['"][^'"]*['"]\s*\+/g,
      ].flatMap((pattern) => [...text.matchAll(pattern)].map((m) => `${path}: ${m[0]}`)),
    );
    // Identifiers, which PostgreSQL cannot take as parameters, from constants in code only: the app role
    // (APP_ROLE) and the notification channels (INVALIDATION_CHANNEL, AUDIT_CHANNEL, EXECUTION_CHANNEL).
    const identifiers = [
      'db/client.ts: .exec(`SET ROLE ${',
      'db/client.ts: .query(`LISTEN "${',
      'db/client.ts: .query(`UNLISTEN "${',
    ];
    expect(offending.filter((o) => !identifiers.includes(o))).toEqual([]);
  });

  describe('through the API', () => {
    let t: TestApp;
    let admin: TestUser;
    beforeEach(async () => {
      t = await buildTestApp({ env: { FLEECE_ADMIN_EMAILS: 'root@example.test' } });
      admin = await userOnPlan(t, 'root@example.test', 'business');
    });
    afterEach(() => t.close());

    it('stores and returns injection payloads as plain text, and every table is still there', async () => {
      const ids: string[] = [];
      for (const payload of PAYLOADS) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/agents',
          headers: asSession(t, admin),
          payload: {
            name: payload.slice(0, 100),
            description: payload,
            instructions: payload,
            model: 'mock',
          },
        });
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json()).toMatchObject({ name: payload.slice(0, 100), instructions: payload });
        ids.push(res.json().id);
      }
      for (const [i, id] of ids.entries()) {
        const res = await t.app.inject({ url: `/api/v1/agents/${id}`, headers: { cookie: admin.cookie } });
        expect(res.json().instructions).toBe(PAYLOADS[i]);
      }
      const tables = await t.db.ownerQuery<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_name in ('agents', 'users')",
      );
      expect(tables[0]!.n).toBe(2);
    });

    it('treats payloads in search and filters as values: they match nothing instead of everything', async () => {
      for (const payload of PAYLOADS) {
        const users = await t.app.inject({
          url: `/api/v1/admin/users?q=${encodeURIComponent(payload)}`,
          headers: { cookie: admin.cookie },
        });
        expect(users.statusCode, users.body).toBe(200);
        expect(users.json().data).toEqual([]);
        const events = await t.app.inject({
          url: `/api/v1/audit-events?resourceId=${encodeURIComponent(payload)}`,
          headers: { cookie: admin.cookie },
        });
        expect(events.statusCode, events.body).toBe(200);
        expect(events.json().data).toEqual([]);
      }
    });
  });
});
