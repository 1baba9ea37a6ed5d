import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED, redact, redactUrl } from '../src/logger.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

describe('log redaction (docs/security.md, claims C5 and C38)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    t.app.post('/api/v1/test-log', async (request) => {
      request.log.info({ body: request.body }, 'received body');
      return { ok: true };
    });
  });
  afterAll(() => t.close());

  it('never prints a bearer token, cookie, or secret-named field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-log?token=magic-secret-456&limit=2',
      headers: {
        authorization: 'Bearer secret123',
        cookie: '__Host-fleece_session=cookie-secret-789',
        'x-api-key': 'flc_headersecret',
      },
      payload: {
        apiKey: 'flc_bodysecret',
        nested: { refresh_token: 'rt-secret', password: 'pw-secret' },
        name: 'kept',
      },
    });
    expect(res.statusCode).toBe(200);
    const text = t.logs.text;
    for (const secret of [
      'secret123',
      'cookie-secret-789',
      'flc_headersecret',
      'flc_bodysecret',
      'rt-secret',
      'pw-secret',
      'magic-secret-456',
    ]) {
      expect(text).not.toContain(secret);
    }
    // The request was logged, with the harmless parts intact.
    const incoming = t.logs
      .records()
      .find((r) => r.msg === 'incoming request' && (r.req as { url: string }).url.includes('test-log'));
    expect(incoming?.req).toMatchObject({
      method: 'POST',
      url: `/api/v1/test-log?token=${REDACTED}&limit=2`,
      headers: { authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED },
    });
    const body = t.logs.records().find((r) => r.msg === 'received body')?.body;
    expect(body).toEqual({
      apiKey: REDACTED,
      nested: { refresh_token: REDACTED, password: REDACTED },
      name: 'kept',
    });
  });
});

describe('redact()', () => {
  it('redacts by key name at any depth and leaves other values', () => {
    expect(redact({ a: [{ clientSecret: 's', id: 1 }], keyId: 'k', Authorization: 'x' })).toEqual({
      a: [{ clientSecret: REDACTED, id: 1 }],
      keyId: 'k',
      Authorization: REDACTED,
    });
  });

  it('survives cycles', () => {
    const o: Record<string, unknown> = { name: 'n' };
    o.self = o;
    expect(redact(o)).toEqual({ name: 'n', self: '[Circular]' });
  });

  it('keeps only the values of harmless query parameters (an allowlist)', () => {
    expect(redactUrl('/cb?code=abc&state=xyz&next=%2Fhome&limit=5')).toBe(
      `/cb?code=${REDACTED}&state=${REDACTED}&next=${REDACTED}&limit=5`,
    );
    expect(redactUrl('/plain')).toBe('/plain');
  });
});
