import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { ConfigError, DEVELOPMENT_SECRET, loadConfig } from '../src/config.js';
import { openPglite } from '../src/db/client.js';

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) }, out, err };
}

describe('loadConfig (claim C14)', () => {
  it('starts with zero configuration on the embedded database', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      dataDir: './.fleece/data',
      databaseUrl: undefined,
      redisUrl: undefined,
      secret: DEVELOPMENT_SECRET,
      tls: undefined,
      trustProxy: [],
      corsOrigins: [],
      bodyLimit: 1_048_576,
    });
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '  ', DATABASE_URL: '' })).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
    });
  });

  it('names the bad variable, what it expects and what it got, in one line', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'eighty' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.variable).toBe('PORT');
    expect(error?.message).toBe(
      'Invalid environment variable PORT: expected an integer from 0 to 65535 (got "eighty").',
    );
  });

  it('hides the value of a bad connection URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' })).toThrow(
      'Invalid environment variable DATABASE_URL: expected a postgres:// or postgresql:// connection URL (value hidden).',
    );
  });

  it.each(['everyone', 'abc', 'fe80::1::2', '10.0.0.0/33', '::1/129', '300.1.2.3', '10.0.0.0/8/8'])(
    'rejects %s in the trust-proxy list',
    (bad) => {
      expect(() => loadConfig({ FLEECE_TRUST_PROXY: `10.0.0.0/8, ${bad}` })).toThrow(
        /^Invalid environment variable FLEECE_TRUST_PROXY: expected a comma-separated list of IP addresses or CIDRs/,
      );
    },
  );

  it('accepts IPv4 and IPv6 addresses and CIDRs as proxies', () => {
    expect(
      loadConfig({ FLEECE_TRUST_PROXY: '10.0.0.0/8, ::1, 2001:db8::/32, 192.168.1.7' }).trustProxy,
    ).toEqual(['10.0.0.0/8', '::1', '2001:db8::/32', '192.168.1.7']);
  });

  it('refuses production without a secret, with the development secret, or with a short one', () => {
    const base = { NODE_ENV: 'production', FLEECE_PUBLIC_URL: 'https://fleece.example.com' };
    expect(() => loadConfig(base)).toThrow(
      /^Invalid environment variable FLEECE_SECRET: production needs a random secret/,
    );
    expect(() => loadConfig({ ...base, FLEECE_SECRET: DEVELOPMENT_SECRET })).toThrow(
      /refuses the development secret/,
    );
    expect(() => loadConfig({ ...base, FLEECE_SECRET: 'short' })).toThrow(
      /refuses the development secret and secrets shorter than 32/,
    );
    expect(
      loadConfig({ ...base, FLEECE_SECRET: 'x'.repeat(40), FLEECE_ENCRYPTION_KEY: `${'A'.repeat(43)}=` }).env,
    ).toBe('production');
  });

  it('refuses production without a public URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', FLEECE_SECRET: 'x'.repeat(40) })).toThrow(
      'Invalid environment variable FLEECE_PUBLIC_URL: production needs the public origin, such as https://fleece.example.com (it is unset).',
    );
  });

  it('wants both TLS files or neither', () => {
    expect(() => loadConfig({ FLEECE_TLS_CERT: '/tmp/cert.pem' })).toThrow(
      /^Invalid environment variable FLEECE_TLS_KEY: /,
    );
  });
});

describe('fleece-server command line', () => {
  it('prints one line and exits 1 on a bad variable', async () => {
    const { io, out, err } = captureIo();
    expect(await main(['start'], { PORT: '99999' }, io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      'fleece-server: Invalid environment variable PORT: expected an integer from 0 to 65535 (got "99999").',
    ]);
  });

  it('exits 2 on an unknown command', async () => {
    const { io, err } = captureIo();
    expect(await main(['serve'], {}, io)).toBe(2);
    expect(err[0]).toMatch(/^fleece-server: unknown command "serve"\nUsage: fleece-server \[command\]/);
  });

  it('prints the version and help', async () => {
    const a = captureIo();
    expect(await main(['--version'], {}, a.io)).toBe(0);
    expect(a.out).toEqual(['0.1.0']);
    const b = captureIo();
    expect(await main(['--help'], {}, b.io)).toBe(0);
    expect(b.out[0]).toContain('migrate   Apply pending database migrations and exit');
  });

  it('names PORT when the port is taken, in one line, and exits 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const { io, err } = captureIo();
      expect(
        await main(['start'], { PORT: String(port), FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }, io),
      ).toBe(1);
      expect(err).toEqual([
        `fleece-server: Port ${port} on 127.0.0.1 is already in use: stop the process using it, or set PORT to a free port.`,
      ]);
    } finally {
      blocker.close();
    }
  });

  it('prints usage for `help`, and names the plans when set-plan is given another', async () => {
    const a = captureIo();
    expect(await main(['help'], {}, a.io)).toBe(0);
    expect(a.out[0]).toMatch(/^Usage: fleece-server \[command\]/);
    const b = captureIo();
    expect(await main(['admin', 'set-plan', 'x@example.com', 'gold'], {}, b.io)).toBe(2);
    expect(b.err[0]!.split('\n')[0]).toBe(
      'fleece-server: unknown plan "gold": the plan must be one of free, pro, business, enterprise.',
    );
  });

  it('says what to do per sub-command when the embedded database is locked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fleece-data-'));
    const { pglite, release } = await openPglite(dir);
    const env = { FLEECE_DATA_DIR: dir, LOG_LEVEL: 'silent' };
    try {
      const a = captureIo();
      expect(await main(['admin', 'set-plan', 'x@example.com', 'pro'], env, a.io)).toBe(1);
      expect(a.err).toEqual([
        `fleece-server: The embedded database at ${dir} is in use by another Fleece process, most likely the running server. Leave it running and make the change through its admin API with an admin login of the CLI: \`fleece admin users set-plan x@example.com pro\` (an admin is an address listed in FLEECE_ADMIN_EMAILS when the server started, once it has signed in; see "Quick start" in the README). Or stop the server, run this again, and start it.`,
      ]);
      const g = captureIo();
      expect(await main(['admin', 'grant', 'x@example.com'], env, g.io)).toBe(1);
      expect(g.err).toEqual([
        `fleece-server: The embedded database at ${dir} is in use by another Fleece process, most likely the running server. Admin rights are not granted through the API: stop the server (Ctrl-C), run this again, and start it; or start the server with FLEECE_ADMIN_EMAILS=x@example.com, and that address becomes an admin when it signs in.`,
      ]);
      const b = captureIo();
      expect(await main(['worker'], env, b.io)).toBe(1);
      expect(b.err).toEqual([
        `fleece-server: The embedded database at ${dir} is in use by another Fleece process. The embedded database cannot be shared, so a separate worker needs PostgreSQL: set the same DATABASE_URL for the server and its workers (see "Background jobs" in docs/operations.md). On the embedded database the server runs its own workers (FLEECE_WORKERS=inline); no worker process is needed.`,
      ]);
    } finally {
      await pglite.close();
      await release();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what to do when PostgreSQL is not listening', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const { io, err } = captureIo();
    const url = `postgres://fleece:secret@127.0.0.1:${port}/fleece`;
    expect(await main(['migrate'], { DATABASE_URL: url, LOG_LEVEL: 'silent' }, io)).toBe(1);
    expect(err).toEqual([
      `fleece-server: Cannot connect to PostgreSQL at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}). Check that PostgreSQL is running and listening there, and that DATABASE_URL names the right host and port. See "PostgreSQL roles" in docs/operations.md.`,
    ]);
    expect(err.join('')).not.toContain('secret');
  });

  it.runIf(process.env.TEST_DATABASE_URL)('says to create a missing database or role', async () => {
    const base = new URL(process.env.TEST_DATABASE_URL!);
    base.pathname = '/fleece_missing_db';
    const a = captureIo();
    expect(await main(['migrate'], { DATABASE_URL: base.toString(), LOG_LEVEL: 'silent' }, a.io)).toBe(1);
    expect(a.err).toEqual([
      `fleece-server: PostgreSQL at ${base.hostname}:${base.port || '5432'} has no database "fleece_missing_db" (database "fleece_missing_db" does not exist). Create it (\`createdb fleece_missing_db\`, or CREATE DATABASE as a superuser), or fix the database name in DATABASE_URL. See "PostgreSQL roles" in docs/operations.md.`,
    ]);
    const role = new URL(process.env.TEST_DATABASE_URL!);
    role.username = 'fleece_missing_role';
    const b = captureIo();
    expect(await main(['migrate'], { DATABASE_URL: role.toString(), LOG_LEVEL: 'silent' }, b.io)).toBe(1);
    expect(b.err).toEqual([
      `fleece-server: PostgreSQL at ${role.hostname}:${role.port || '5432'} refused the connection (role "fleece_missing_role" does not exist). Create the role (\`createuser fleece_missing_role\`, or CREATE ROLE … LOGIN as a superuser), or fix the user in DATABASE_URL. See "PostgreSQL roles" in docs/operations.md.`,
    ]);
  });

  it('migrates an embedded database and exits 0', async () => {
    const { io, out } = captureIo();
    expect(await main(['migrate'], { FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }, io)).toBe(0);
    expect(out).toEqual(['Migrations are up to date.']);
  });
});
