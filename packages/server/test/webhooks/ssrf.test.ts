import type { LookupAddress } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { safeExcerpt, WebhookTransport } from '../../src/modules/webhooks/deliver.js';
import { validateCallbackUrl } from '../../src/modules/webhooks/url.js';
import { selfSignedCertificate } from '../helpers/certificate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * SSRF refusals of the webhook transport (issue 6 "Webhook callbacks"; claim in docs/security.md
 * "Webhook callbacks"). The filter checks the address a socket is about to connect to, so these tests call
 * the transport directly, past `validateCallbackUrl`, as a URL whose host name resolves somewhere else
 * later (DNS rebinding) would. Host names resolve through an injected lookup, never real DNS; nothing here
 * ever connects anywhere but 127.0.0.1, and only where loopback is allowed.
 */

interface LookupCall {
  hostname: string;
}

/** A resolver that maps names to fixed addresses and records what it was asked. */
function fakeResolver(table: Record<string, LookupAddress[]>): {
  lookup: LookupFunction;
  calls: LookupCall[];
} {
  const calls: LookupCall[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    calls.push({ hostname });
    const addresses = table[hostname];
    if (!addresses) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        hostname,
      });
      callback(error);
      return;
    }
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  }) as unknown as LookupFunction;
  return { lookup, calls };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

describe('webhook transport: SSRF refusals at connect time', () => {
  let receiver: Receiver;
  const transports: WebhookTransport[] = [];
  const transport = (options: ConstructorParameters<typeof WebhookTransport>[0]) => {
    const t = new WebhookTransport(options);
    transports.push(t);
    return t;
  };
  const post = (t: WebhookTransport, url: string) =>
    t.post(new URL(url), '{"id":"whe_x"}', { 'Content-Type': 'application/json' }, 5_000);

  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const t of transports.splice(0)) t.close();
    await receiver.close();
  });

  it.each([
    ['IPv4 loopback', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/hook`],
    ['IPv4-mapped IPv6 loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped metadata address', () => 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
    ['the unspecified address', (port: number) => `http://0.0.0.0:${port}/hook`],
  ])('refuses a literal %s without connecting', async (_, url) => {
    const result = await post(transport({ allowLoopback: false }), url(receiver.port));
    expect(result).toMatchObject({
      outcome: 'failed',
      status: null,
      errorCode: 'address_blocked',
      responseExcerpt: null,
      retryable: false,
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses a host name that resolves to 127.0.0.1 (DNS rebinding past the URL check)', async () => {
    const url = `http://rebind.example.test:${receiver.port}/hook`;
    // The URL check passes: it does not resolve names, since what a name resolves to can change.
    expect(
      validateCallbackUrl(url, { env: 'development', webhooks: { allowLoopback: false } }).hostname,
    ).toBe('rebind.example.test');
    const { lookup, calls } = fakeResolver({ 'rebind.example.test': [v4('127.0.0.1')] });
    const result = await post(transport({ allowLoopback: false, lookup }), url);
    expect(result.errorCode).toBe('address_blocked');
    expect(calls).toEqual([{ hostname: 'rebind.example.test' }]);
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses a host name that resolves to the metadata address 169.254.169.254', async () => {
    const { lookup } = fakeResolver({ 'metadata.example.test': [v4('169.254.169.254')] });
    const result = await post(
      transport({ allowLoopback: true, lookup }),
      'http://metadata.example.test/latest/meta-data/',
    );
    expect(result.errorCode).toBe('address_blocked');
  });

  it('refuses a host name with a private address among public ones', async () => {
    const { lookup } = fakeResolver({ 'mixed.example.test': [v4('93.184.215.14'), v4('169.254.169.254')] });
    const result = await post(transport({ allowLoopback: false, lookup }), 'http://mixed.example.test/hook');
    expect(result.errorCode).toBe('address_blocked');
  });

  it.each([
    ['::1', v6('::1')],
    ['::ffff:127.0.0.1', v6('::ffff:127.0.0.1')],
    ['fd00:ec2::254', v6('fd00:ec2::254')],
    ['fe80::1', v6('fe80::1')],
  ])('refuses a host name that resolves to the IPv6 address %s', async (_, address) => {
    const { lookup } = fakeResolver({ 'v6.example.test': [address] });
    const result = await post(
      transport({ allowLoopback: false, lookup }),
      `http://v6.example.test:${receiver.port}/hook`,
    );
    expect(result.errorCode).toBe('address_blocked');
    expect(receiver.requests).toHaveLength(0);
  });

  it('with loopback allowed, still refuses mapped loopback and the rest of 127.0.0.0/8', async () => {
    const { lookup } = fakeResolver({ 'other-loopback.example.test': [v4('127.0.0.2')] });
    const t = transport({ allowLoopback: true, lookup });
    expect((await post(t, `http://[::ffff:127.0.0.1]:${receiver.port}/hook`)).errorCode).toBe(
      'address_blocked',
    );
    expect((await post(t, `http://other-loopback.example.test:${receiver.port}/hook`)).errorCode).toBe(
      'address_blocked',
    );
    expect(receiver.requests).toHaveLength(0);
  });

  it('reaches 127.0.0.1 only when loopback is explicitly allowed', async () => {
    const result = await post(transport({ allowLoopback: true }), `${receiver.origin}/hook`);
    expect(result).toMatchObject({ outcome: 'succeeded', status: 204, errorCode: null, retryable: false });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]).toMatchObject({ method: 'POST', path: '/hook' });
    expect(receiver.requests[0]!.headers['content-length']).toBe('14');
  });

  it('does not follow a redirect from an allowed receiver to an internal address', async () => {
    await receiver.close();
    const { lookup, calls } = fakeResolver({ 'metadata.example.test': [v4('169.254.169.254')] });
    receiver = await startReceiver((_, res) => {
      res
        .writeHead(307, {
          Location: 'http://metadata.example.test/latest/meta-data/iam/security-credentials/',
        })
        .end('Temporary Redirect');
    });
    const result = await post(transport({ allowLoopback: true, lookup }), `${receiver.origin}/hook`);
    expect(result).toMatchObject({
      outcome: 'failed',
      status: 307,
      errorCode: 'redirect_not_followed',
      responseExcerpt: 'Temporary Redirect',
      retryable: true,
    });
    expect(receiver.requests).toHaveLength(1);
    // The redirect target was never even resolved.
    expect(calls).toEqual([]);
  });

  it('records a refused connection and an unknown host name with safe codes', async () => {
    const closed = await startReceiver();
    const port = closed.port;
    await closed.close();
    const { lookup } = fakeResolver({});
    const t = transport({ allowLoopback: true, lookup });
    expect(await post(t, `http://127.0.0.1:${port}/hook`)).toMatchObject({
      errorCode: 'connection_failed',
      status: null,
      retryable: true,
    });
    expect(await post(t, 'http://nowhere.example.test/hook')).toMatchObject({
      errorCode: 'dns_failed',
      retryable: true,
    });
  });

  it('keeps at most 256 printable characters of the answer', async () => {
    await receiver.close();
    receiver = await startReceiver((_, res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`\u001b[31mboom\u202e\r\n${'x'.repeat(5000)}`);
    });
    const result = await post(transport({ allowLoopback: true }), `${receiver.origin}/hook`);
    expect(result.status).toBe(500);
    expect(result.errorCode).toBe('http_error');
    expect(result.responseExcerpt).toMatch(/^ ?\[31mboom x+$/);
    expect(result.responseExcerpt!.length).toBeLessThanOrEqual(256);
    expect(safeExcerpt(Buffer.from(''))).toBeNull();
  });
});

describe('webhook transport: TLS and aborts', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fleece-webhook-tls-'));
    selfSignedCertificate(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies the receiver certificate over https (claim C2): an untrusted one fails as tls_failed', async () => {
    let requests = 0;
    const server = https.createServer(
      { cert: readFileSync(path.join(dir, 'cert.pem')), key: readFileSync(path.join(dir, 'key.pem')) },
      (_, res) => {
        requests++;
        res.writeHead(204).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const transport = new WebhookTransport({ allowLoopback: true });
    try {
      const result = await transport.post(new URL(`https://127.0.0.1:${port}/hook`), '{}', {}, 5_000);
      expect(result).toMatchObject({
        outcome: 'failed',
        status: null,
        errorCode: 'tls_failed',
        retryable: true,
      });
      expect(requests).toBe(0);
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('gives up an attempt when its signal aborts (the job was stopped), as aborted', async () => {
    const abort = new AbortController();
    // The receiver never answers; the attempt ends when the signal aborts, not by any clock.
    const receiver = await startReceiver(() => abort.abort());
    const transport = new WebhookTransport({ allowLoopback: true });
    try {
      const result = await transport.post(new URL(`${receiver.origin}/hook`), '{}', {}, 60_000, abort.signal);
      expect(result).toMatchObject({
        outcome: 'failed',
        status: null,
        errorCode: 'aborted',
        retryable: true,
      });
      expect(receiver.requests).toHaveLength(1);
    } finally {
      transport.close();
      await receiver.close();
    }
  });
});
