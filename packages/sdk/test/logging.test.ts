import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BASE_URL, useMsw } from '../../testkit/src/index.js';
import { type ClientOptions, Fleece, FleeceError, type Logger } from '../src/index.js';
import { mswClient, problem } from './helpers.js';

const server = useMsw();
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});
beforeEach(() => {
  for (const name of ['FLEECE_LOG', 'FLEECE_API_KEY', 'FLEECE_TOKEN', 'FLEECE_BASE_URL']) {
    vi.stubEnv(name, undefined);
  }
});

/** A logger that records every call as `[level, message, ...rest]`. */
function recorder(): Logger & { lines: unknown[][] } {
  const lines: unknown[][] = [];
  const at =
    (level: string) =>
    (message: string, ...rest: unknown[]) =>
      void lines.push([level, message, ...rest]);
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

// Credentials of every kind the SDK handles; none may appear in any log line.
const CANARY_KEY = 'flc_canary_0123456789abcdefghijklmnopqrstuv';
const CANARY_TOKEN = 'rt_canary_token_9876543210';

describe('logging (logLevel, logger, FLEECE_LOG)', () => {
  it('logs method, path, status, time in ms and request id at debug, and nothing at the default level', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/things`, () =>
        HttpResponse.json({ ok: true }, { headers: { 'x-request-id': 'req_abc' } }),
      ),
    );
    const quiet = recorder();
    await mswClient({ logger: quiet }).get('/api/v1/things', { query: { q: 'secret-query' } });
    expect(quiet.lines).toEqual([]);

    const log = recorder();
    const client = mswClient({ logger: log, logLevel: 'debug' });
    expect(client.logLevel).toBe('debug');
    await client.get('/api/v1/things', { query: { q: 'secret-query' } });
    expect(log.lines).toHaveLength(1);
    const [level, message, fields] = log.lines[0] as [string, string, Record<string, unknown>];
    expect(level).toBe('debug');
    expect(message).toMatch(/^GET \/api\/v1\/things → 200 in \d+ ms \(request id req_abc\)$/);
    expect(fields).toEqual({
      method: 'GET',
      path: '/api/v1/things',
      status: 200,
      durationMs: expect.any(Number),
      requestId: 'req_abc',
      attempt: 1,
    });
    expect(JSON.stringify(log.lines)).not.toContain('secret-query');
  });

  it('reads FLEECE_LOG; the option wins; an unknown value is ignored with a warning', () => {
    vi.stubEnv('FLEECE_LOG', 'DEBUG');
    expect(mswClient().logLevel).toBe('debug');
    expect(mswClient({ logLevel: 'off' }).logLevel).toBe('off');
    vi.stubEnv('FLEECE_LOG', 'chatty');
    const log = recorder();
    expect(mswClient({ logger: log }).logLevel).toBe('warn');
    expect(log.lines).toEqual([
      ['warn', 'FLEECE_LOG="chatty" is not a log level (off, error, warn, info, debug); ignored'],
    ]);
    expect(() => mswClient({ logLevel: 'loud' as never })).toThrow(
      '`logLevel` must be one of off, error, warn, info, debug, got "loud"',
    );
  });

  it('logs retries at info and each failed attempt at debug', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    let calls = 0;
    server.use(
      http.get(`${BASE_URL}/api/v1/flaky`, () =>
        ++calls === 1
          ? problem(503, 'service_unavailable', {}, { 'retry-after-ms': '1' })
          : HttpResponse.json({ ok: true }),
      ),
    );
    const log = recorder();
    await mswClient({ logger: log, logLevel: 'debug' }).get('/api/v1/flaky');
    expect(
      log.lines.map(([level, message]) => [
        level,
        String(message).replace(/ → (\d+) in \d+ ms/, ' → $1 in N ms'),
      ]),
    ).toEqual([
      ['debug', 'GET /api/v1/flaky → 503 in N ms (request id req_from_header)'],
      ['info', 'GET /api/v1/flaky will be retried in 1 ms (retry 1 of 2)'],
      [
        'debug',
        expect.stringMatching(/^GET \/api\/v1\/flaky → 200 in N ms \(request id req_[0-9a-f]{24}\)$/),
      ],
    ]);
  });

  it('regression: secrets never reach the log (canary key and token, headers and bodies included)', async () => {
    server.use(
      http.all(/.*/, async ({ request }) => {
        const body = await request.text();
        // The server echoes what it got, as a careless proxy or error page might.
        return HttpResponse.json(
          { detail: `${request.headers.get('authorization')} ${body}` },
          { status: 400, headers: { 'x-echo': CANARY_KEY } },
        );
      }),
    );
    const log = recorder();
    const client = mswClient({ apiKey: CANARY_KEY, logger: log, logLevel: 'debug', maxRetries: 1 });
    await client
      .post('/api/v1/things', { body: { refresh_token: CANARY_TOKEN, apiKey: CANARY_KEY } })
      .catch(() => {});
    await client.get('/api/v1/things', { query: { token: CANARY_TOKEN } }).catch(() => {});
    await client
      .get('/api/v1/things', { headers: { authorization: `Bearer ${CANARY_TOKEN}` } })
      .catch(() => {});
    expect(log.lines.length).toBeGreaterThanOrEqual(3);
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain('canary');
    expect(text).not.toContain('Bearer');
  });
});

describe('unknown client options', () => {
  it('regression: an unknown option is a type error and is refused at run time, not ignored', () => {
    // @ts-expect-error `timeoutMs` is not an option (`timeout` is).
    expect(() => new Fleece({ apiKey: 'flc_x', timeoutMs: 5 })).toThrow(FleeceError);
    const fromJs = { apiKey: 'flc_x', maxRetry: 1, baseUrl: BASE_URL } as unknown as ClientOptions;
    expect(() => new Fleece(fromJs)).toThrow(
      'Unknown client options `maxRetry`, `baseUrl`; the options are apiKey, accessToken, auth, baseURL, ' +
        'timeout, idleTimeout, maxRetries, fetch, dispatcher, defaultHeaders, validateResponses, logLevel, logger',
    );
    expect(() => mswClient().withOptions({ retries: 3 } as unknown as ClientOptions)).toThrow(
      'Unknown client option `retries`',
    );
  });

  it('withOptions keeps the log settings', () => {
    const log = recorder();
    const client = mswClient({ logger: log, logLevel: 'info' }).withOptions({ timeout: 5_000 });
    expect(client.logLevel).toBe('info');
  });
});
