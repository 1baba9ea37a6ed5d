import { readFileSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { BASE_URL, useMsw } from '../../testkit/src/index.js';
import { DEFAULT_BASE_URL, type Fetch, Fleece, FleeceError, VERSION } from '../src/index.js';
import { mswClient } from './helpers.js';

const server = useMsw();
afterEach(() => {
  vi.unstubAllEnvs();
});

const ENV = ['FLEECE_API_KEY', 'FLEECE_TOKEN', 'FLEECE_BASE_URL'] as const;
beforeEach(() => {
  for (const name of ENV) vi.stubEnv(name, undefined);
});

// Bound late: msw patches `globalThis.fetch` in `listen()`.
const fetch: Fetch = (input, init) => globalThis.fetch(input, init);

/** Sends one request with `client` and returns the headers and URL the server saw. */
async function capture(client: Fleece, path = '/api/v1/echo') {
  let seen: { url: string; headers: Headers } | undefined;
  server.use(
    http.all(/.*/, ({ request }) => {
      seen = { url: request.url, headers: request.headers };
      return HttpResponse.json({});
    }),
  );
  await client.get(path);
  if (!seen) throw new Error('no request');
  return seen;
}

describe('new Fleece(): credentials', () => {
  it('throws a FleeceError naming the options, the variables and auth: false when there are none', () => {
    expect(() => new Fleece()).toThrow(FleeceError);
    expect(() => new Fleece()).toThrow(
      'No credentials: pass `apiKey` (an API key, flc_…) or `accessToken`, or set FLEECE_API_KEY or ' +
        'FLEECE_TOKEN. For the public endpoints only (health, device authorization), pass `auth: false`.',
    );
  });

  it('reads FLEECE_API_KEY', async () => {
    vi.stubEnv('FLEECE_API_KEY', 'flc_from_env');
    const client = new Fleece({ baseURL: BASE_URL, fetch });
    expect(client.credentialType).toBe('apiKey');
    expect((await capture(client)).headers.get('authorization')).toBe('Bearer flc_from_env');
  });

  it('reads FLEECE_TOKEN as an access token', async () => {
    vi.stubEnv('FLEECE_TOKEN', 'tok_from_env');
    const client = new Fleece({ baseURL: BASE_URL, fetch });
    expect(client.credentialType).toBe('accessToken');
    expect((await capture(client)).headers.get('authorization')).toBe('Bearer tok_from_env');
  });

  it('prefers FLEECE_API_KEY over FLEECE_TOKEN', async () => {
    vi.stubEnv('FLEECE_API_KEY', 'flc_from_env');
    vi.stubEnv('FLEECE_TOKEN', 'tok_from_env');
    const client = new Fleece({ baseURL: BASE_URL, fetch });
    expect((await capture(client)).headers.get('authorization')).toBe('Bearer flc_from_env');
  });

  it('lets an option win over the environment, for either credential', async () => {
    vi.stubEnv('FLEECE_API_KEY', 'flc_from_env');
    vi.stubEnv('FLEECE_TOKEN', 'tok_from_env');
    const withKey = new Fleece({ baseURL: BASE_URL, fetch, apiKey: 'flc_option' });
    expect((await capture(withKey)).headers.get('authorization')).toBe('Bearer flc_option');
    const withToken = new Fleece({ baseURL: BASE_URL, fetch, accessToken: 'tok_option' });
    expect(withToken.credentialType).toBe('accessToken');
    expect((await capture(withToken)).headers.get('authorization')).toBe('Bearer tok_option');
  });

  it('ignores blank environment values and blank options', async () => {
    vi.stubEnv('FLEECE_API_KEY', '   ');
    vi.stubEnv('FLEECE_TOKEN', 'tok_from_env');
    vi.stubEnv('FLEECE_BASE_URL', '');
    const client = new Fleece({ fetch, apiKey: '' });
    expect(client.credentialType).toBe('accessToken');
    expect(client.baseURL).toBe(DEFAULT_BASE_URL);
    vi.stubEnv('FLEECE_TOKEN', '');
    expect(() => new Fleece({ fetch })).toThrow('No credentials');
  });

  it('refuses both apiKey and accessToken as options', () => {
    expect(() => new Fleece({ apiKey: 'flc_a', accessToken: 'tok_b' })).toThrow(
      'Pass either `apiKey` or `accessToken`, not both',
    );
  });

  it('makes an unauthenticated client with auth: false, ignoring credentials in the environment', async () => {
    vi.stubEnv('FLEECE_API_KEY', 'flc_from_env');
    const client = new Fleece({ auth: false, baseURL: BASE_URL, fetch });
    expect(client.credentialType).toBeNull();
    expect((await capture(client)).headers.get('authorization')).toBeNull();
  });
});

describe('new Fleece(): other options', () => {
  it('defaults to http://127.0.0.1:3000, 60 s timeouts, 2 retries and validation on', () => {
    const client = new Fleece({ apiKey: 'flc_x' });
    expect(client.baseURL).toBe('http://127.0.0.1:3000');
    expect(client.timeout).toBe(60_000);
    expect(client.idleTimeout).toBe(60_000);
    expect(client.maxRetries).toBe(2);
    expect(client.validateResponses).toBe(true);
  });

  it('accepts the global fetch as `fetch`', () => {
    expect(new Fleece({ auth: false, fetch: globalThis.fetch }).credentialType).toBeNull();
  });

  it('takes the base URL from the option, then FLEECE_BASE_URL', () => {
    vi.stubEnv('FLEECE_BASE_URL', 'https://env.example.com/');
    expect(new Fleece({ apiKey: 'flc_x' }).baseURL).toBe('https://env.example.com');
    expect(new Fleece({ apiKey: 'flc_x', baseURL: 'https://option.example.com' }).baseURL).toBe(
      'https://option.example.com',
    );
  });

  it('keeps a path prefix of the base URL and encodes the query', async () => {
    const client = mswClient({ baseURL: `${BASE_URL}/fleece/` });
    let url = '';
    server.use(
      http.get(`${BASE_URL}/fleece/api/v1/things`, ({ request }) => {
        url = request.url;
        return HttpResponse.json({});
      }),
    );
    await client.get('/api/v1/things', { query: { limit: 5, cursor: 'a b&c', q: undefined, x: null } });
    expect(url).toBe(`${BASE_URL}/fleece/api/v1/things?limit=5&cursor=a+b%26c`);
  });

  it.each([
    ['ftp://example.com', 'baseURL'],
    ['not a url', 'baseURL'],
    ['https://user:pw@example.com', 'baseURL'],
  ])('rejects the base URL %s', (baseURL, name) => {
    expect(() => new Fleece({ apiKey: 'flc_x', baseURL })).toThrow(
      `\`${name}\` must be an http: or https: URL`,
    );
  });

  it('rejects invalid timeouts and retry counts', () => {
    expect(() => new Fleece({ apiKey: 'flc_x', timeout: 0 })).toThrow('`timeout` must be a positive number');
    expect(() => new Fleece({ apiKey: 'flc_x', idleTimeout: Number.NaN })).toThrow('`idleTimeout` must be');
    expect(() => new Fleece({ apiKey: 'flc_x', maxRetries: 1.5 })).toThrow('`maxRetries` must be');
    expect(() => new Fleece({ apiKey: 'flc_x', maxRetries: -1 })).toThrow('`maxRetries` must be');
  });
});

describe('request headers', () => {
  it('sends Accept, User-Agent, a request id, and JSON with a body', async () => {
    let headers = new Headers();
    server.use(
      http.post(`${BASE_URL}/api/v1/things`, ({ request }) => {
        headers = request.headers;
        return HttpResponse.json({});
      }),
    );
    await mswClient().post('/api/v1/things', { body: { a: 1 } });
    expect(headers.get('accept')).toBe('application/json');
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('user-agent')).toBe(`fleece-sdk-node/${VERSION} node/${process.version}`);
    expect(headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    expect(headers.get('authorization')).toBe('Bearer flc_test_0123456789');
  });

  it('layers defaultHeaders under per-call headers, where null removes a header', async () => {
    const client = mswClient({ defaultHeaders: { 'x-team': 'core', 'x-trace': 'on' } });
    server.use(
      http.get(`${BASE_URL}/api/v1/echo`, ({ request }) =>
        HttpResponse.json({
          team: request.headers.get('x-team'),
          trace: request.headers.get('x-trace'),
          requestId: request.headers.get('x-request-id'),
        }),
      ),
    );
    await expect(
      client.get('/api/v1/echo', {
        headers: { 'x-team': 'edge', 'x-trace': null, 'x-request-id': 'req_mine_123' },
      }),
    ).resolves.toEqual({ team: 'edge', trace: null, requestId: 'req_mine_123' });
  });
});

describe('withOptions()', () => {
  it('clones the client with changed options and the same credential', async () => {
    const client = mswClient({ timeout: 1_000 });
    const clone = client.withOptions({ maxRetries: 7 });
    expect(clone).not.toBe(client);
    expect(clone.maxRetries).toBe(7);
    expect(clone.timeout).toBe(1_000);
    expect(clone.baseURL).toBe(BASE_URL);
    expect((await capture(clone)).headers.get('authorization')).toBe('Bearer flc_test_0123456789');
    expect(client.maxRetries).toBe(2);
  });

  it('replaces the credential when given one, without tripping over the old one', async () => {
    const client = mswClient();
    const asUser = client.withOptions({ accessToken: 'tok_new' });
    expect(asUser.credentialType).toBe('accessToken');
    expect((await capture(asUser)).headers.get('authorization')).toBe('Bearer tok_new');
    const anonymous = client.withOptions({ auth: false });
    expect(anonymous.credentialType).toBeNull();
    expect(anonymous.withOptions({ timeout: 5 }).credentialType).toBeNull();
  });
});

describe('APIPromise', () => {
  it('gives the raw response with asResponse() and data with withResponse()', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/thing`, () =>
        HttpResponse.json({ id: 'thg_1' }, { headers: { 'x-request-id': 'req_abc12345' } }),
      ),
    );
    const client = mswClient();
    const response = await client.get('/api/v1/thing').asResponse();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'thg_1' });
    const { data, requestId } = await client
      .get('/api/v1/thing', { schema: z.object({ id: z.string() }) })
      .withResponse();
    expect(data).toEqual({ id: 'thg_1' });
    expect(requestId).toBe('req_abc12345');
  });

  it('types the body from the schema and returns undefined for 204', async () => {
    server.use(http.delete(`${BASE_URL}/api/v1/thing`, () => new HttpResponse(null, { status: 204 })));
    await expect(mswClient().delete('/api/v1/thing')).resolves.toBeUndefined();
  });

  it('throws a FleeceError naming the request id when a success body is not JSON', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/thing`, () =>
        HttpResponse.text('<html/>', { headers: { 'x-request-id': 'req_html1234' } }),
      ),
    );
    await expect(mswClient().get('/api/v1/thing')).rejects.toThrow(
      'The response to GET /api/v1/thing is not JSON (request id req_html1234)',
    );
  });
});

it('keeps VERSION equal to package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(VERSION).toBe(pkg.version);
});
