import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../server/src/app.js';
import { loadConfig } from '../../../server/src/config.js';
import { APP_ROLE, openPglite, pgliteDatabase } from '../../../server/src/db/client.js';
import { TestClock } from '../../../server/test/helpers/app.js';
import { freePort } from '../../../testkit/src/index.js';
import { BIN, buildCli } from './harness.js';

/**
 * `examples/quickstart.sh`, the main job of issue 11, run as a new user would run it: the built
 * `fleece-server` on the embedded database in a fresh directory, the built `fleece`, curl and jq. Then step
 * 9's purge, which waits for the grace period, runs on the same data directory with a fake clock.
 */

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const SERVER_BIN = join(ROOT, 'packages/server/dist/bin.js');
const EMAIL = 'quickstart@example.test';
const DAY = 86_400_000;

describe('examples/quickstart.sh through the built binaries', { timeout: 240_000 }, () => {
  let dir: string;
  let output: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    expect(existsSync(SERVER_BIN), `${SERVER_BIN} (run pnpm build first)`).toBe(true);
    await buildCli();
    dir = await mkdtemp(join(tmpdir(), 'fleece-quickstart-test-'));
    const port = await freePort();
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', ['examples/quickstart.sh'], {
        cwd: ROOT,
        timeout: 200_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          PORT: String(port),
          FLEECE_QUICKSTART_EMAIL: EMAIL,
          FLEECE_QUICKSTART_DIR: join(dir, 'work'),
          FLEECE_QUICKSTART_KEEP: '1',
          FLEECE_SERVER_START: `${process.execPath} ${SERVER_BIN} start`,
          FLEECE_CLI: `${process.execPath} ${BIN}`,
        },
      });
      output = { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      output = {
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs to the end', () => {
    expect(output.code, `${output.stdout}\n${output.stderr}`).toBe(0);
    expect(output.stdout).toMatch(/== done\n$/);
  });

  it('1–2: starts on the embedded database and logs in with --device through the magic link', async () => {
    expect(output.stdout).toContain('Status:      ok');
    expect(output.stdout).toMatch(/device code: [A-Z]{4}-[A-Z]{4}\n/);
    expect(output.stdout).toContain(`✓ Logged in to http://127.0.0.1:`);
    expect(output.stdout).toContain(`${EMAIL}\n`);
    const log = await readFile(join(dir, 'work/server.log'), 'utf8');
    expect(log).toContain('database: embedded');
  });

  it('3–4: consent granted, Pro set by the admin, a key created', () => {
    expect(output.stdout).toMatch(/"type":"ai_processing","granted":true/);
    expect(output.stdout).toContain(`{"email":"${EMAIL}","plan":"pro"}`);
    expect(output.stdout).toMatch(/created key_\w+ \(the secret is shown once/);
  });

  it('5: with only FLEECE_API_KEY: an agent, a streamed run, a two-step flow waited for, the executions', () => {
    expect(output.stdout).toMatch(/^agent agt_\w+$/m);
    expect(output.stdout).toContain('Mock reply to "Fleece keeps every security claim');
    expect(output.stdout).toMatch(/^flow flw_\w+$/m);
    expect(output.stdout).toMatch(/^\{"id":"exe_\w+","status":"succeeded"\}$/m);
    // The list shows the agent's run and the flow run's two steps, all succeeded.
    const listed = output.stdout.slice(
      output.stdout.indexOf('-- executions:'),
      output.stdout.indexOf('== 6.'),
    );
    expect(listed.match(/^exe_\w+\s+succeeded/gm)?.length).toBeGreaterThanOrEqual(3);
  });

  it('6: exports the account to a file with a trailer whose SHA-256 matches', () => {
    expect(output.stdout).toMatch(/^\{"format":"ndjson","bytes":\d+,"records":\d+\}$/m);
    expect(output.stdout).toMatch(/^export checksum ok: [0-9a-f]{64}$/m);
  });

  it('7: the second process tailed steps 4–6 live, and the audit chain verifies', async () => {
    const tailed = (await readFile(join(dir, 'work/audit-tail.ndjson'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { action: string }).action);
    for (const action of [
      'api_key.created',
      'agent.created',
      'agent.executed',
      'flow.created',
      'flow.triggered',
      'data.exported',
    ]) {
      expect(tailed, action).toContain(action);
    }
    expect(output.stdout).toMatch(/^\{"valid":true,"checked":\d+\}$/m);
  });

  it('8: the revoked key exits 3', () => {
    expect(output.stdout).toContain('exit code with the revoked key: 3');
  });

  it('9: the account deletion, then the purge with a fake clock: nothing of the user remains', async () => {
    expect(output.stdout).toMatch(/"status":"pending_deletion"/);
    // The server has stopped, so its data directory (and its lock) can be opened here.
    const { pglite: instance, release } = await openPglite(join(dir, 'work/data'));
    const database = await pgliteDatabase(instance, release);
    const owner = async <T>(text: string, params: unknown[] = []) =>
      instance.transaction(async (tx) => {
        await tx.exec('RESET ROLE');
        const rows = (await tx.query<T>(text, params)).rows;
        await tx.exec(`SET ROLE ${APP_ROLE}`);
        return rows;
      });
    const [user] = await owner<{ id: string }>('select id from users where email = $1', [EMAIL]);
    expect(user).toBeDefined();
    const clock = new TestClock(new Date(Date.now() + 7 * DAY + 60_000).toISOString());
    const app = await buildApp(
      loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn', FLEECE_DATA_DIR: 'memory://' }),
      {
        database,
        clock,
      },
    );
    try {
      await app.jobs.send('data.daily', {});
      const ran = await app.jobs.runPending({ includeDelayed: true });
      expect(ran.filter((j) => j.name === 'account.purge').map((j) => j.outcome)).toContain('completed');
      // Every table of every schema, as text: no row names the user's id or email.
      const tables = await owner<{ schema: string; table: string }>(
        `select table_schema as schema, table_name as "table" from information_schema.tables
          where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
      );
      const found: string[] = [];
      for (const { schema, table } of tables) {
        for (const needle of [user!.id, EMAIL]) {
          const [row] = await owner<{ n: number }>(
            `select count(*)::int as n from "${schema}"."${table}" r where strpos(lower(r::text), lower($1)) > 0`,
            [needle],
          );
          if (row!.n > 0) found.push(`${schema}.${table} ∋ ${needle}`);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
