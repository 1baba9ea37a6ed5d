import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ProblemError } from '../../src/errors.js';
import {
  type CallbackUrlConfig,
  createSigningSecret,
  validateCallbackUrl,
} from '../../src/modules/webhooks/url.js';

const dev: CallbackUrlConfig = { env: 'development', webhooks: { allowLoopback: false } };
const loopbackAllowed: CallbackUrlConfig = { env: 'test', webhooks: { allowLoopback: true } };
const production: CallbackUrlConfig = { env: 'production', webhooks: { allowLoopback: true } };

function refusal(url: string, config = dev): ProblemError {
  try {
    validateCallbackUrl(url, config);
  } catch (error) {
    expect(error).toBeInstanceOf(ProblemError);
    return error as ProblemError;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('validateCallbackUrl', () => {
  it('accepts public http(s) URLs and returns them parsed', () => {
    expect(validateCallbackUrl('https://hooks.example.com/fleece?x=1', dev).href).toBe(
      'https://hooks.example.com/fleece?x=1',
    );
    expect(validateCallbackUrl('http://93.184.215.14:8080/hook', dev).port).toBe('8080');
    expect(validateCallbackUrl('https://[2606:4700::1111]/hook', dev).hostname).toBe('[2606:4700::1111]');
  });

  it('answers 400 invalid_callback_url naming the field', () => {
    const problem = refusal('https://10.0.0.1/hook');
    expect(problem.code).toBe('invalid_callback_url');
    expect(problem.status).toBe(400);
    expect(problem.detail).toBe(
      'callbackUrl points to 10.0.0.1, a private (RFC 1918) address; callbacks go only to public addresses.',
    );
    expect(problem.extras.errors).toEqual([
      {
        path: 'callbackUrl',
        message: 'points to 10.0.0.1, a private (RFC 1918) address; callbacks go only to public addresses.',
      },
    ]);
  });

  it.each([
    ['not a url', 'is not an absolute URL'],
    ['/relative/path', 'is not an absolute URL'],
    ['ftp://example.com/hook', 'must be an http(s) URL'],
    ['javascript:alert(1)', 'must be an http(s) URL'],
    ['file:///etc/passwd', 'must be an http(s) URL'],
    ['https://user:pass@example.com/hook', 'must not contain a user name or password'],
    ['https://user@example.com/hook', 'must not contain a user name or password'],
    [`https://example.com/${'a'.repeat(2048)}`, 'is longer than 2048 characters'],
  ])('refuses %s', (url, message) => {
    expect(refusal(url).detail).toContain(message);
  });

  it.each([
    ['http://127.0.0.1/hook', 'loopback'],
    ['http://127.255.0.9:9000/hook', 'loopback'],
    ['http://0x7f.1/hook', 'loopback'], // WHATWG URL normalises it to 127.0.0.1
    ['http://2130706433/hook', 'loopback'],
    ['http://[::1]/hook', 'loopback'],
    ['http://localhost:3000/hook', 'this machine'],
    ['http://api.localhost/hook', 'this machine'],
    ['http://10.1.2.3/hook', 'private'],
    ['http://172.16.0.1/hook', 'private'],
    ['http://192.168.1.1/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://100.100.100.200/latest/meta-data/', 'carrier-grade NAT'],
    ['http://100.64.0.1/hook', 'carrier-grade NAT'],
    ['http://0.0.0.0/hook', 'unspecified'],
    ['http://[::]/hook', 'unspecified'],
    ['http://[fd00:ec2::254]/hook', 'unique-local'],
    ['http://[fe80::1]/hook', 'link-local'],
    ['http://[::ffff:127.0.0.1]/hook', 'IPv4-mapped'],
    ['http://[::ffff:169.254.169.254]/hook', 'IPv4-mapped'],
    ['http://224.0.0.1/hook', 'multicast'],
    ['http://255.255.255.255/hook', 'broadcast'],
    ['http://240.0.0.1/hook', 'reserved'],
  ])('refuses the non-public address in %s (%s)', (url, words) => {
    expect(refusal(url).detail).toContain(words);
  });

  it('allows loopback only when configured, and never in production', () => {
    expect(validateCallbackUrl('http://127.0.0.1:4000/hook', loopbackAllowed).port).toBe('4000');
    expect(validateCallbackUrl('http://[::1]:4000/hook', loopbackAllowed).hostname).toBe('[::1]');
    expect(validateCallbackUrl('http://localhost:4000/hook', loopbackAllowed).hostname).toBe('localhost');
    // Still refused with loopback allowed: other private ranges and mapped loopback.
    expect(refusal('http://10.0.0.1/hook', loopbackAllowed).code).toBe('invalid_callback_url');
    expect(refusal('http://169.254.169.254/', loopbackAllowed).code).toBe('invalid_callback_url');
    expect(refusal('http://[::ffff:127.0.0.1]/hook', loopbackAllowed).code).toBe('invalid_callback_url');
    expect(refusal('http://127.0.0.2/hook', loopbackAllowed).detail).toContain('loopback');
    // Production ignores the flag even if a config object carries it.
    expect(refusal('https://127.0.0.1/hook', production).detail).toContain('loopback');
  });

  it('requires https in production (claim C2)', () => {
    expect(refusal('http://hooks.example.com/fleece', production).detail).toBe(
      'callbackUrl must use https: production sends webhook callbacks over TLS only.',
    );
    expect(validateCallbackUrl('https://hooks.example.com/fleece', production).protocol).toBe('https:');
  });

  it('names another field when asked', () => {
    try {
      validateCallbackUrl('ftp://x', dev, 'body.callbackUrl');
      expect.unreachable();
    } catch (error) {
      expect((error as ProblemError).extras.errors?.[0]?.path).toBe('body.callbackUrl');
    }
  });
});

describe('FLEECE_WEBHOOK_ALLOW_LOOPBACK', () => {
  const productionEnv = {
    NODE_ENV: 'production',
    FLEECE_SECRET: 'x'.repeat(48),
    FLEECE_PUBLIC_URL: 'https://fleece.example.com',
    FLEECE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    FLEECE_DATA_DIR: 'memory://',
  };

  it('is off by default, with a 10 s delivery timeout', () => {
    expect(loadConfig({ FLEECE_DATA_DIR: 'memory://' }).webhooks).toEqual({
      allowLoopback: false,
      timeoutMs: 10_000,
    });
  });

  it('is refused in production', () => {
    expect(loadConfig(productionEnv).webhooks.allowLoopback).toBe(false);
    expect(() => loadConfig({ ...productionEnv, FLEECE_WEBHOOK_ALLOW_LOOPBACK: 'true' })).toThrow(
      ConfigError,
    );
  });
});

describe('createSigningSecret', () => {
  it('is whsec_ and 32 random bytes in base64url', () => {
    const secret = createSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(6), 'base64url')).toHaveLength(32);
    expect(createSigningSecret()).not.toBe(secret);
  });
});
