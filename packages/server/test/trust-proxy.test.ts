import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/app.js';

async function ipSeen(t: TestApp, remoteAddress: string, forwardedFor: string): Promise<string> {
  const res = await t.app.inject({
    url: '/api/v1/test-ip',
    remoteAddress,
    headers: { 'x-forwarded-for': forwardedFor },
  });
  return res.json().ip;
}

describe('trust proxy', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function build(env: Record<string, string> = {}) {
    t = await buildTestApp({ env });
    t.app.get('/api/v1/test-ip', async (request) => ({ ip: request.ip }));
    return t;
  }

  it('ignores X-Forwarded-For by default, however it rotates', async () => {
    const app = await build();
    for (const forged of ['1.2.3.4', '5.6.7.8, 9.9.9.9', '::1']) {
      expect(await ipSeen(app, '203.0.113.9', forged)).toBe('203.0.113.9');
    }
  });

  it('believes X-Forwarded-For only from a listed proxy', async () => {
    const app = await build({ FLEECE_TRUST_PROXY: '10.0.0.0/8' });
    expect(await ipSeen(app, '10.1.2.3', '198.51.100.7')).toBe('198.51.100.7');
    expect(await ipSeen(app, '203.0.113.9', '198.51.100.7')).toBe('203.0.113.9');
  });
});
