import { nodeFetch } from '@fleece/sdk';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/lib/context.js';
import { createClient, fetchFor, stderrLogger } from '../../src/lib/sdk.js';

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
    const client = createClient(context, 'http://127.0.0.1:3000', { auth: false, logLevel: 'debug' });
    expect(client.logLevel).toBe('debug');
    stderrLogger(context).debug('GET /api/health → 200 in 3 ms (request id req_1)');
    expect(stderr).toBe('fleece-sdk debug: GET /api/health → 200 in 3 ms (request id req_1)\n');
  });
});
