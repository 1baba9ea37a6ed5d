import { randomBytes } from 'node:crypto';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOGGED_QUERY,
  loggerOptions,
  REDACTED,
  redact,
  redactHeaders,
  redactUrl,
  scrubCredentials,
  serializeError,
} from '../../src/logger.js';
import { API_KEY_PREFIX } from '../../src/modules/api-keys/format.js';
import { userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { originOf } from '../helpers/identity.js';
import { type RawRequest, sendRaw } from '../helpers/raw-http.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A unique string shaped like a Fleece API key (`flc_` + 43 base62 characters). */
function canaryKey(): string {
  const bytes = randomBytes(43);
  return `${API_KEY_PREFIX}${[...bytes].map((b) => BASE62[b % 62]).join('')}`;
}

/** A unique string shaped like an access token (a JWS in compact form). */
function canaryJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: randomBytes(8).toString('hex') })}.${randomBytes(32).toString('base64url')}`;
}

/** A unique opaque secret (refresh tokens, magic-link tokens and device codes look like this). */
function canaryOpaque(): string {
  return randomBytes(32).toString('base64url');
}

/** Query parameter names the server defines or a client might use for a credential. */
const QUERY_NAMES = [
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'apiKey',
  'key',
  'authorization',
  'Authorization',
  'auth',
  'code',
  'state',
  'device_code',
  'user_code',
  'code_verifier',
  'password',
  'secret',
  'client_secret',
  'session',
  'jwt',
  'bearer',
  'sig',
  'returnTo',
  'redirect',
  'q',
  'x',
];

/** Body field names, credential-like or not. */
const BODY_NAMES = [
  'token',
  'refresh_token',
  'access_token',
  'device_code',
  'code',
  'code_verifier',
  'apiKey',
  'api_key',
  'key',
  'password',
  'secret',
  'authorization',
  'Authorization',
  'credentials',
  'signature',
];

describe('credentials never reach logs', () => {
  let t: TestApp;
  let port: number;
  let cookie: string;

  beforeAll(async () => {
    // Trace level: every line the server can write is written, so every line is searched.
    t = await buildTestApp({ env: { LOG_LEVEL: 'trace', FLEECE_RATE_LIMIT_PER_MINUTE: '100000' } });
    const user = await userOnPlan(t, 'canary@example.com', 'pro');
    cookie = user.cookie;
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.close());

  /** Every way a credential can enter a request, each as one request carrying `secret`. */
  function channels(secret: string, kind: 'shaped' | 'opaque'): RawRequest[] {
    const enc = encodeURIComponent(secret);
    const origin = originOf(t);
    const json = (body: unknown): Pick<RawRequest, 'headers' | 'body'> => ({
      headers: [['content-type', 'application/json']],
      body: Buffer.from(JSON.stringify(body)),
    });
    const requests: RawRequest[] = [];
    // Query values under every name, on a real route, a 404, and the auth routes.
    for (const name of QUERY_NAMES) {
      for (const path of ['/api/v1/me', '/api/v1/nope', '/api/auth/cli/authorize', '/login', '/api/health']) {
        requests.push({ method: 'GET', target: `${path}?${name}=${enc}&limit=5`, headers: [] });
      }
    }
    // Query values that do not parse, around the secret.
    requests.push({ method: 'GET', target: `/api/health?%&token=${enc}`, headers: [] });
    requests.push({ method: 'GET', target: `/api/v1/me?a%=1&authorization=Bearer%20${enc}`, headers: [] });
    requests.push({ method: 'GET', target: `/api/v1/agents/%E0%A4%A?token=${enc}`, headers: [] });
    // Body fields under every name, valid and broken JSON, on the token, key and agent routes.
    for (const name of BODY_NAMES) {
      for (const path of ['/api/auth/token', '/api/v1/api-keys', '/api/auth/magic-link/verify']) {
        requests.push({
          method: 'POST',
          target: path,
          ...json({ [name]: secret, grant_type: 'refresh_token' }),
        });
      }
      requests.push({
        method: 'POST',
        target: '/api/auth/token',
        headers: [['content-type', 'application/json']],
        body: Buffer.from(`{"${name}":"${secret}",`),
      });
    }
    requests.push({
      method: 'POST',
      target: '/api/auth/revoke',
      headers: [['content-type', 'application/x-www-form-urlencoded']],
      body: Buffer.from(`token=${enc}`),
    });
    // Headers of every kind.
    const headerCases: [string, string][] = [
      ['authorization', `Bearer ${secret}`],
      ['authorization', `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`],
      ['authorization', secret],
      ['proxy-authorization', `Bearer ${secret}`],
      ['x-api-key', secret],
      ['api-key', secret],
      ['cookie', `__Host-fleece_session=${secret}`],
      ['cookie', `other=${secret}; ${cookie}`],
      ['idempotency-key', secret],
      ['x-fleece-token', secret],
      ['referer', `https://elsewhere.example/cb?token=${enc}`],
    ];
    if (kind === 'shaped') {
      // Harmless-named headers are logged as they are: only a credential's shape can keep it out. (X-Request-Id
      // is the id every line of the request carries: one shaped like a credential is replaced by a fresh id.)
      headerCases.push(
        ['x-request-id', secret],
        ['user-agent', `curl/8 ${secret}`],
        ['origin', `https://${secret}.example`],
        ['last-event-id', secret],
        ['x-forwarded-for', secret],
        ['accept', secret],
      );
    }
    for (const [name, value] of headerCases) {
      requests.push({ method: 'GET', target: '/api/v1/me', headers: [[name, value]] });
      requests.push({
        method: 'POST',
        target: '/api/v1/agents',
        headers: [
          [name, value],
          ['origin', origin],
          ['content-type', 'application/json'],
        ],
        body: Buffer.from('{"name":'),
      });
    }
    if (kind === 'shaped') {
      // In the path itself, and in the query's names.
      requests.push({ method: 'GET', target: `/api/v1/agents/${enc}`, headers: [['cookie', cookie]] });
      requests.push({ method: 'GET', target: `/${enc}`, headers: [] });
      requests.push({ method: 'GET', target: `/api/v1/me?${enc}`, headers: [] });
      requests.push({ method: 'GET', target: `/api/v1/me?${enc}=1`, headers: [] });
      requests.push({
        method: 'POST',
        target: '/api/v1/agents',
        headers: [
          ['cookie', cookie],
          ['origin', origin],
          ['content-type', 'application/json'],
        ],
        body: Buffer.from(JSON.stringify({ name: secret, instructions: secret, model: secret })),
      });
    }
    return requests;
  }

  /** Sends `secret` through every channel and searches every log line written meanwhile. */
  async function sendCanary(secret: string, kind: 'shaped' | 'opaque'): Promise<void> {
    const requests = channels(secret, kind);
    const before = t.logs.lines.length;
    for (const request of requests) {
      const res = await sendRaw(port, request);
      expect(res?.status, `${request.method} ${String(request.target)}`).toBeGreaterThanOrEqual(200);
    }
    const written = t.logs.lines.slice(before);
    // The requests were logged (so the search below searched something)…
    expect(written.length).toBeGreaterThanOrEqual(requests.length);
    // …and no line holds the secret, whole, URL-encoded, or 16 characters of it.
    const needles = [secret, encodeURIComponent(secret), secret.slice(4, 20)];
    const hits = written.filter((line) => needles.some((n) => line.includes(n)));
    expect(hits).toEqual([]);
  }

  it('a canary API key sent through every input channel appears in no log line', async () => {
    await sendCanary(canaryKey(), 'shaped');
  });

  it('a canary access token (JWT) sent through every input channel appears in no log line', async () => {
    await sendCanary(canaryJwt(), 'shaped');
  });

  it('a canary opaque token (refresh, magic link, device code) sent through every credential-named channel appears in no log line', async () => {
    await sendCanary(canaryOpaque(), 'opaque');
  });

  it('regression: a credential in the query string under the name `authorization` is not logged', async () => {
    const key = canaryKey();
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/me?authorization=Bearer%20${key}`,
    });
    expect(res.statusCode).toBe(401);
    const incoming = t.logs
      .records()
      .filter((r) => r.msg === 'incoming request')
      .at(-1);
    expect((incoming!.req as { url: string }).url).toBe(`/api/v1/me?authorization=${REDACTED}`);
    expect(t.logs.text).not.toContain(key.slice(4));
  });
});

describe('logging and redaction are total functions', () => {
  it('redactUrl never throws and never keeps a value outside the allowlist', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (path, query) => {
        const out = redactUrl(`${path}?${query}`);
        expect(typeof out).toBe('string');
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 30 }).filter((n) => !n.includes('&') && !n.includes('=')),
        fc.stringMatching(/^[A-Za-z0-9]{12,40}$/),
        (name, value) => {
          let decoded: string;
          try {
            decoded = decodeURIComponent(name.replaceAll('+', ' ')).toLowerCase();
          } catch {
            decoded = name.toLowerCase();
          }
          fc.pre(!LOGGED_QUERY.has(decoded));
          expect(redactUrl(`/p?${name}=${value}`)).not.toContain(value);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('regression: malformed percent-escapes in query names do not throw (`?%`, `?a%=1`, `?%ZZ&token=x`)', () => {
    expect(redactUrl('/api/health?%')).toBe(`/api/health?${REDACTED}`);
    expect(redactUrl('/?a%=1')).toBe(`/?a%=${REDACTED}`);
    expect(redactUrl('/login/magic?%ZZ&token=x')).toBe(`/login/magic?${REDACTED}&token=${REDACTED}`);
    expect(redactUrl('/x?limit=5&cursor=abc')).toBe('/x?limit=5&cursor=abc');
  });

  it('redact and redactHeaders never throw, whatever the value', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(redact(hostile)).toBe('[Unreadable]');
    expect(redact({ a: getter })).toEqual({ a: '[Unreadable]' });
    expect(redactHeaders(hostile)).toEqual({ unreadable: true });
    fc.assert(
      fc.property(
        fc.anything({ withObjectString: true, withNullPrototype: true, withMap: true }),
        (value) => {
          redact(value);
          redactHeaders(value);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('a pino logger with the server options writes every generated object without throwing, credentials scrubbed', () => {
    const lines: string[] = [];
    const logger = pino(loggerOptions('trace') as pino.LoggerOptions, {
      write: (line: string) => void lines.push(line),
    });
    const key = canaryKey();
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 8 }),
        fc.string({ unit: 'binary' }),
        (object, message) => {
          logger.info({ ...object, note: `sent ${key} by mistake` }, message);
          logger.info({ req: { method: message, url: message, headers: object, ip: message } }, 'req');
        },
      ),
      { numRuns: 2_000 },
    );
    expect(lines.length).toBe(4_000);
    expect(lines.join('')).not.toContain(key.slice(4));
  });

  it('regression: a failed query logs its text but not the values it was bound to', () => {
    const cause = new Error('invalid byte sequence for encoding "UTF8": 0x00');
    const failed = new DrizzleQueryError(
      'insert into device_codes values ($1, $2)',
      ['KTTDKJPP', 'dev_secret'],
      cause,
    );
    const out = serializeError(failed) as unknown as Record<string, unknown>;
    expect(out.params).toBeUndefined();
    expect(out.query).toBe('insert into device_codes values ($1, $2)');
    expect(out.message).toBe(`Failed query: insert into device_codes values ($1, $2)\nparams: ${REDACTED}`);
    expect(JSON.stringify(out)).not.toContain('KTTDKJPP');
    expect(
      serializeError(
        new Proxy(
          {},
          {
            get() {
              throw new Error('no');
            },
          },
        ),
      ),
    ).toMatchObject({ message: expect.any(String) });
  });

  it('scrubCredentials removes every credential shape it knows from any surrounding text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const key = canaryKey();
        const jwt = canaryJwt();
        const out = scrubCredentials(`${before}${key} ${jwt} Bearer ${canaryOpaque()}x${after}`);
        expect(out).not.toContain(key.slice(4, 20));
        expect(out).not.toContain(jwt.split('.')[2]!);
      }),
      { numRuns: 2_000 },
    );
    expect(scrubCredentials('postgres://app:hunter2@db:5432/x')).toBe(`postgres://${REDACTED}@db:5432/x`);
  });
});
