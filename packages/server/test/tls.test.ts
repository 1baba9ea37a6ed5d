import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/app.js';
import { selfSignedCertificate } from './helpers/certificate.js';

function handshake(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const protocol = socket.getProtocol() ?? 'unknown';
      socket.end();
      resolve(protocol);
    });
    socket.on('error', reject);
  });
}

describe('native TLS (claim C1)', () => {
  let dir: string;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fleece-tls-'));
    selfSignedCertificate(dir);
    t = await buildTestApp({
      env: { FLEECE_TLS_CERT: path.join(dir, 'cert.pem'), FLEECE_TLS_KEY: path.join(dir, 'key.pem') },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a TLS 1.3 client', async () => {
    expect(await handshake(port, { minVersion: 'TLSv1.3' })).toBe('TLSv1.3');
  });

  it('refuses a client that speaks at most TLS 1.2', async () => {
    await expect(handshake(port, { maxVersion: 'TLSv1.2' })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_SSL_(TLSV1_ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL)$/),
    });
  });

  it('serves the API over HTTPS', async () => {
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    expect(t.app.initialConfig.https).toBeTruthy();
  });
});
