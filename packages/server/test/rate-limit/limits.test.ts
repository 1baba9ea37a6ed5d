import { randomBytes } from 'node:crypto';
import { HealthResponse } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { clientAddressSubject } from '../../src/lib/client-address.js';
import { generateApiKey } from '../../src/modules/api-keys/format.js';
import { canonicalPath } from '../../src/plugins/rate-limit.js';
import { asSession, bearer, createKey, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

/** A random documentation-range IPv4 address, so runs sharing a Redis never share a bucket. */
function randomIp(): string {
  const [x, y] = randomBytes(2);
  return `10.${x}.${y}.${1 + (randomBytes(1)[0]! % 250)}`;
}

/** A random IPv6 /64 prefix (four groups). */
function randomPrefix(): string {
  return `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
}

/** The rate-limit headers of a response. */
function limits(res: LightMyRequestResponse) {
  return {
    limit: res.headers['x-ratelimit-limit'],
    remaining: res.headers['x-ratelimit-remaining'],
    reset: res.headers['x-ratelimit-reset'],
  };
}

/** Builds an app with test routes carrying the named limits (declared exactly as product routes do). */
async function build(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await buildTestApp({ env });
  t.app.post('/api/v1/test/trigger', { config: { limit: 'flowTrigger' } }, async () => ({ ok: true }));
  t.app.post('/api/v1/test/execute', { config: { limit: 'agentExecute' } }, async () => ({ ok: true }));
  t.app.post('/api/v1/test/export', { config: { limit: 'dataExport' } }, async () => ({ ok: true }));
  t.app.post('/api/v1/test/chat', { config: { limit: 'chat' } }, async () => ({ ok: true }));
  return t;
}

describe('rate limits (claims C17, C25)', () => {
  let t: TestApp | undefined;
  let u: TestApp | undefined;
  afterEach(async () => {
    await u?.close();
    await t?.close();
    t = u = undefined;
  });

  it('limits flow triggers to 5 a minute per user, with headers, then 429 rate_limited + Retry-After', async () => {
    t = await build();
    const ada = await userOnPlan(t, 'ada@example.test');
    const bob = await userOnPlan(t, 'bob@example.test');
    const trigger = (user = ada) =>
      t!.app.inject({ method: 'POST', url: '/api/v1/test/trigger', headers: asSession(t!, user) });
    for (let i = 4; i >= 0; i--) {
      const res = await trigger();
      expect(res.statusCode).toBe(200);
      expect(limits(res)).toEqual({ limit: '5', remaining: String(i), reset: '60' });
    }
    for (let i = 0; i < 3; i++) {
      const res = await trigger();
      expect(res.statusCode).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('60');
      expect(limits(res)).toEqual({ limit: '5', remaining: '0', reset: '60' });
      expect(res.json()).toMatchObject({
        type: 'https://fleece.dev/problems/rate_limited',
        status: 429,
        code: 'rate_limited',
        detail: 'Too many requests. Try again in 60 seconds.',
      });
    }
    // Per user: another user has their own five.
    expect((await trigger(bob)).statusCode).toBe(200);
    const recorded = (await auditEvents(t)).filter((e) => e.action === 'security.rate_limit_exceeded');
    expect(recorded).toEqual([
      expect.objectContaining({ outcome: 'denied', resource_id: 'POST /api/v1/test/trigger' }),
    ]);
  });

  it('has the named limits: chat 20/min, execute 10/min, export 5/hour', async () => {
    t = await build();
    const ip = randomIp();
    for (const [url, limit, reset] of [
      ['/api/v1/test/chat', '20', '60'],
      ['/api/v1/test/execute', '10', '60'],
      ['/api/v1/test/export', '5', '3600'],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url, remoteAddress: ip });
      expect(limits(res), url).toEqual({ limit, remaining: String(Number(limit) - 1), reset });
    }
  });

  it('keys anonymous callers by canonical IP: IPv6 by /64, IPv4-mapped IPv6 as IPv4', async () => {
    t = await build();
    const send = (remoteAddress: string) =>
      t!.app.inject({ method: 'POST', url: '/api/v1/test/trigger', remoteAddress });
    const prefix = randomPrefix();
    // Five addresses of one /64, written five ways, share one bucket…
    for (const address of [
      `${prefix}::1`,
      `${prefix}:0:0:0:2`,
      `${prefix.toUpperCase()}::ABCD`,
      `${prefix}:ffff:ffff:ffff:ffff`,
      `${prefix}:0000:0000:0000:0003`,
    ]) {
      expect((await send(address)).statusCode, address).toBe(200);
    }
    expect((await send(`${prefix}::9`)).statusCode).toBe(429);
    // …while the next /64 is another subscriber.
    const [a, b, c, d] = prefix.split(':') as [string, string, string, string];
    const next = [a, b, c, (Number.parseInt(d, 16) ^ 1).toString(16)].join(':');
    expect((await send(`${next}::1`)).statusCode).toBe(200);
    // IPv4 and its IPv4-mapped IPv6 form are one caller.
    const v4 = randomIp();
    for (let i = 0; i < 5; i++) await send(i % 2 ? v4 : `::ffff:${v4}`);
    expect((await send(`::ffff:${v4}`)).statusCode).toBe(429);
    expect((await send(v4)).statusCode).toBe(429);
  });

  it('ignores a rotating X-Forwarded-For when no proxy is trusted', async () => {
    t = await build();
    const ip = randomIp();
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/test/trigger',
        remoteAddress: ip,
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      expect(res.statusCode).toBe(200);
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test/trigger',
      remoteAddress: ip,
      headers: { 'x-forwarded-for': '203.0.113.250' },
    });
    expect(res.statusCode).toBe(429);
  });

  it('counts a route once: other spellings of its path (case, duplicate and trailing slashes) answer 404 and are not counted', async () => {
    // Issue #16, defect 6: one spelling per route (src/plugins/routing.ts), so no spelling has its own bucket
    // or slips past the limit; test/routing/canonical-paths.test.ts covers every route of the API.
    t = await build();
    const ip = randomIp();
    const spellings = [
      '/API/V1/Test/Trigger',
      '//api//v1/test/trigger/',
      '/api/v1/test/trigger/',
      '/Api/v1//TEST/trigger',
      '/api/v1/TEST/trigger//',
    ];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({ method: 'POST', url: spellings[i]!, remoteAddress: ip });
      expect(res.statusCode, spellings[i]).toBe(404);
      expect(res.json().code).toBe('not_found');
      const canonical = await t.app.inject({
        method: 'POST',
        url: '/api/v1/test/trigger',
        remoteAddress: ip,
      });
      expect(canonical.statusCode).toBe(200);
    }
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/test/trigger', remoteAddress: ip });
    expect(res.statusCode).toBe(429);
    expect(canonicalPath('//API//v1/Me/?x=1')).toBe('/api/v1/me');
    expect(canonicalPath('/')).toBe('/');
    expect(clientAddressSubject('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddressSubject('2001:DB8:1:2:3:4:5:6')).toBe('2001:db8:1:2::');
  });

  /**
   * Alternates GET and HEAD on `url` from one address and returns the statuses: every HEAD must count
   * against the GET's one budget of `max`.
   */
  async function alternate(app: TestApp, url: string, max: number, ip = randomIp()) {
    const seen: string[] = [];
    for (let i = 0; i < max + 2; i++) {
      const method = i % 2 ? 'HEAD' : 'GET';
      const res = await app.app.inject({ method, url, remoteAddress: ip });
      seen.push(`${method} ${res.statusCode}`);
    }
    return seen;
  }
  const budget = (max: number) =>
    Array.from({ length: max + 2 }, (_, i) => `${i % 2 ? 'HEAD' : 'GET'} ${i < max ? 200 : 429}`);

  /** Test GET routes under every kind of limit: default, named, and an auth route's `config.rateLimit`. */
  async function buildGets(env: Record<string, string> = {}): Promise<TestApp> {
    const app = await build({ FLEECE_RATE_LIMIT_PER_MINUTE: '4', ...env });
    app.app.get('/api/v1/test/plain', async () => ({ ok: true }));
    app.app.get('/api/v1/test/named', { config: { limit: 'flowTrigger' } }, async () => ({ ok: true }));
    app.app.get(
      '/api/auth/test/limited',
      { config: { rateLimit: { max: 3, timeWindow: 60_000 } } },
      async () => ({
        ok: true,
      }),
    );
    return app;
  }

  it('regression F5: HEAD counts against the GET limit (default, named and auth limits), never a second budget', async () => {
    t = await buildGets();
    expect(await alternate(t, '/api/v1/test/plain', 4)).toEqual(budget(4));
    expect(await alternate(t, '/api/v1/test/named', 5)).toEqual(budget(5));
    expect(await alternate(t, '/api/auth/test/limited', 3)).toEqual(budget(3));
    // HEAD first: the GET finds the budget HEAD spent.
    const ip = randomIp();
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'HEAD', url: '/api/auth/test/limited', remoteAddress: ip });
      expect(res.statusCode).toBe(200);
    }
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/test/limited', remoteAddress: ip });
    expect(res.statusCode).toBe(429);
    // A 429 on HEAD is recorded under the GET route.
    const denied = (await auditEvents(t))
      .filter((e) => e.action === 'security.rate_limit_exceeded')
      .map((e) => e.resource_id);
    expect(new Set(denied)).toEqual(
      new Set(['GET /api/v1/test/plain', 'GET /api/v1/test/named', 'GET /api/auth/test/limited']),
    );
  });

  it.runIf(process.env.TEST_REDIS_URL)(
    'regression F5: HEAD and GET share one counter in Redis, across instances',
    async () => {
      const env = { REDIS_URL: process.env.TEST_REDIS_URL! };
      t = await buildGets(env);
      u = await buildGets(env);
      for (const [url, max] of [
        ['/api/v1/test/plain', 4],
        ['/api/v1/test/named', 5],
        ['/api/auth/test/limited', 3],
      ] as const) {
        const ip = randomIp();
        const seen: string[] = [];
        for (let i = 0; i < max + 2; i++) {
          const method = i % 2 ? 'HEAD' : 'GET';
          const res = await (i % 2 ? u : t).app.inject({ method, url, remoteAddress: ip });
          seen.push(`${method} ${res.statusCode}`);
        }
        expect(seen, url).toEqual(budget(max));
      }
    },
  );

  it('gives every other /api route the default limit, with its headers', async () => {
    t = await build({ FLEECE_RATE_LIMIT_PER_MINUTE: '3' });
    const user = await userOnPlan(t, 'default@example.test');
    const me = () => t!.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } });
    expect(limits(await me())).toEqual({ limit: '3', remaining: '2', reset: '60' });
    await me();
    await me();
    const res = await me();
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('rate_limited');
    const anonymous = await t.app.inject({ url: '/api/v1/me', remoteAddress: randomIp() });
    expect(limits(anonymous)).toEqual({ limit: '3', remaining: '2', reset: '60' });
    // Health is exempt (load balancers poll it): no limit, no headers.
    const health = await t.app.inject({ url: '/api/health', remoteAddress: randomIp() });
    expect(health.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('limits API keys per plan across all of a user’s keys: Pro 60 a minute, then 429 (never 401)', async () => {
    t = await build();
    const pro = await userOnPlan(t, 'pro@example.test', 'pro');
    const first = await createKey(t, pro, { name: 'one' });
    const second = await createKey(t, pro, { name: 'two' });
    for (let i = 0; i < 60; i++) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: bearer(i % 2 ? first.key : second.key) });
      expect(res.statusCode).toBe(200);
      if (i === 0) expect(limits(res)).toEqual({ limit: '60', remaining: '59', reset: '60' });
    }
    for (const key of [first.key, second.key]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: bearer(key) });
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('rate_limited');
      expect(res.headers['retry-after']).toBe('60');
    }
    // The same user's session is not API-key traffic.
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: pro.cookie } })).statusCode).toBe(200);
  });

  it('limits API keys per day too, with Enterprise values from the account’s overrides', async () => {
    t = await build();
    const ent = await userOnPlan(t, 'ent@example.test', 'enterprise');
    await t.db.ownerQuery(
      `insert into account_limits (user_id, limits, updated_at) values ($1, '{"apiPerDay": 3}', now())`,
      [ent.userId],
    );
    t.app.invalidations.afterCommit(`u:${ent.userId}`);
    const { key } = await createKey(t, ent);
    const me = () => t!.app.inject({ url: '/api/v1/me', headers: bearer(key) });
    const first = await me();
    expect(limits(first)).toEqual({ limit: '3', remaining: '2', reset: '86400' });
    expect(first.json().usage.apiRequests).toEqual({
      minute: { used: 1, limit: 1000 },
      day: { used: 1, limit: 3 },
    });
    await me();
    await me();
    const res = await me();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('86400');
  });

  it('refuses API keys of an account whose plan has no API access, 403 plan_limit_reached', async () => {
    t = await build();
    const free = await userOnPlan(t, 'free@example.test', 'free');
    const { key, hash, start } = generateApiKey();
    await t.db.ownerQuery(
      `insert into api_keys (id, user_id, name, key_hash, start, scopes, created_at)
       values ('key_fromanolderplan0000000', $1, 'old', $2, $3, '{read}', now())`,
      [free.userId, hash, start],
    );
    const res = await t.app.inject({ url: '/api/v1/me', headers: bearer(key) });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'plan_limit_reached', upgrade: true, limit: 'apiKeys' });
  });

  it('reports the in-process store in /api/health', async () => {
    t = await build();
    const body = HealthResponse.parse((await t.app.inject('/api/health')).json());
    expect(body.checks.rateLimitStore).toEqual({ status: 'ok', store: 'memory' });
  });

  it('fails closed on execute, trigger and export when Redis is down, open elsewhere; health says degraded', async () => {
    // Nothing listens on port 1: the store is configured but unreachable.
    t = await build({ REDIS_URL: 'redis://127.0.0.1:1' });
    const user = await userOnPlan(t, 'down@example.test');
    for (const url of ['/api/v1/test/execute', '/api/v1/test/trigger', '/api/v1/test/export']) {
      const res = await t.app.inject({ method: 'POST', url, headers: asSession(t, user) });
      expect(res.statusCode, url).toBe(503);
      expect(res.json()).toMatchObject({ code: 'service_unavailable' });
      expect(res.headers['retry-after']).toBe('5');
    }
    const chat = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test/chat',
      headers: asSession(t, user),
    });
    expect(chat.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } })).statusCode).toBe(
      200,
    );
    const warnings = t.logs
      .records()
      .filter((r) => r.level === 40 && String(r.msg).startsWith('rate-limit store'));
    expect(warnings.length).toBeGreaterThan(0);
    const health = await t.app.inject('/api/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: 'degraded',
      checks: { rateLimitStore: { status: 'degraded', store: 'redis' } },
    });
    expect(health.body).not.toContain('127.0.0.1');
  });

  it.runIf(process.env.TEST_REDIS_URL)('shares each limit between two instances through Redis', async () => {
    const env = { REDIS_URL: process.env.TEST_REDIS_URL! };
    t = await build(env);
    u = await build(env);
    const ip = randomIp();
    const send = (app: TestApp) =>
      app.app.inject({ method: 'POST', url: '/api/v1/test/trigger', remoteAddress: ip });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send(i % 2 ? u : t);
      seen.push(res.statusCode);
      expect(limits(res).remaining).toBe(String(4 - i));
    }
    expect(seen).toEqual([200, 200, 200, 200, 200]);
    expect((await send(t)).statusCode).toBe(429);
    expect((await send(u)).statusCode).toBe(429);
    const health = HealthResponse.parse((await u.app.inject('/api/health')).json());
    expect(health.checks.rateLimitStore).toEqual({ status: 'ok', store: 'redis' });
  });
});
