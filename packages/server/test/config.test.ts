import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { ConfigError, DEVELOPMENT_SECRET, loadConfig } from '../src/config.js';

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

  it('migrates an embedded database and exits 0', async () => {
    const { io, out } = captureIo();
    expect(await main(['migrate'], { FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }, io)).toBe(0);
    expect(out).toEqual(['Migrations are up to date.']);
  });
});
