import { APIError, nodeFetch } from '@fleece/sdk';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/lib/context.js';
import type { Output } from '../../src/lib/output.js';
import { createClient, fetchFor, fromSdkError, stderrLogger } from '../../src/lib/sdk.js';

const ctx = (env: Record<string, string>, fetch?: Context['fetch']) => ({ env, fetch }) as unknown as Context;

describe('fetchFor', () => {
  it("uses the context's fetch when it has one (msw in tests)", () => {
    const own: Context['fetch'] = async () => new Response();
    expect(fetchFor(ctx({ HTTPS_PROXY: 'http://proxy:3128' }, own))).toBe(own);
  });

  it('uses node:http when no proxy is set, so no undici is loaded', () => {
    expect(fetchFor(ctx({ NO_PROXY: 'example.com', HTTP_PROXY: ' ' }))).toBe(nodeFetch);
  });

  it.each([['HTTPS_PROXY'], ['https_proxy'], ['HTTP_PROXY'], ['http_proxy']])(
    "leaves %s to the SDK's undici EnvHttpProxyAgent",
    (name) => {
      expect(fetchFor(ctx({ [name]: 'http://proxy.internal:3128' }))).toBeUndefined();
    },
  );
});

describe('createClient', () => {
  it('sends the SDK log (FLEECE_LOG) to stderr, never stdout', () => {
    let stderr = '';
    const context = {
      env: {},
      fetch: async () => new Response(),
      stderr: { write: (s: string) => (stderr += s) },
    } as unknown as Context;
    const host = { ctx: context, out: {} as Output, maxWaitMs: undefined };
    const client = createClient(host, 'http://127.0.0.1:3000', { auth: false, logLevel: 'debug' });
    expect(client.logLevel).toBe('debug');
    stderrLogger(context).debug('GET /api/health → 200 in 3 ms (request id req_1)');
    expect(stderr).toBe('fleece-sdk debug: GET /api/health → 200 in 3 ms (request id req_1)\n');
  });
});

describe('fromSdkError for a 401', () => {
  const refused = (code: string) =>
    APIError.generate(
      401,
      { type: 'about:blank', title: 'Unauthorized', status: 401, code },
      new Headers({ 'x-request-id': 'req_401' }),
    );

  it('regression: with FLEECE_API_KEY set the hint never says to log in, and the code survives', () => {
    const expired = fromSdkError(refused('api_key_expired'), 'http://fleece.test', {
      credential: { env: 'FLEECE_API_KEY', flags: '' },
    });
    expect(expired).toMatchObject({
      exitCode: 3,
      message: 'FLEECE_API_KEY has expired (http://fleece.test).',
      hint: 'Create a new API key and set FLEECE_API_KEY to it.',
    });
    const unknown = fromSdkError(refused('invalid_api_key'), 'http://fleece.test', {
      credential: { env: 'FLEECE_TOKEN', flags: '' },
    });
    expect(unknown?.message).toBe(
      'FLEECE_TOKEN is not valid on http://fleece.test: it is revoked, unknown there, or mistyped.',
    );
    expect((unknown as { hint?: string }).hint).toBe('Check or replace the value of FLEECE_TOKEN.');
  });

  it('regression: for a stored login the hint carries --server and --profile', () => {
    const error = fromSdkError(refused('unauthenticated'), 'https://fleece.example.com', {
      credential: { flags: ' --server https://fleece.example.com --profile work' },
    });
    expect((error as { hint?: string }).hint).toBe(
      'Run `fleece login --server https://fleece.example.com --profile work` to log in again.',
    );
  });
});
