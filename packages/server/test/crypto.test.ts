import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_SECRET, ENCRYPTION_KEY_INFO, loadConfig } from '../src/config.js';
import {
  DecryptionError,
  decrypt,
  deriveKey,
  ENVELOPE_VERSION,
  encrypt,
  encryptionKey,
  generateKey,
  Keyring,
  keyId,
  unwrapKey,
  wrapKey,
} from '../src/lib/crypto.js';

describe('AES-256-GCM envelopes (src/lib/crypto.ts, claim C3)', () => {
  const key = generateKey();

  it('round-trips, in the documented layout: version, key id, IV, ciphertext, tag', () => {
    const envelope = encrypt(key, '203.0.113.7', 'audit_event:1:ip');
    expect(envelope.length).toBe(1 + 4 + 12 + '203.0.113.7'.length + 16);
    expect(envelope[0]).toBe(ENVELOPE_VERSION);
    expect(envelope.subarray(1, 5).toString('hex')).toBe(key.id);
    expect(decrypt(key, envelope, 'audit_event:1:ip').toString()).toBe('203.0.113.7');
    // A fresh IV every time.
    expect(encrypt(key, '203.0.113.7', 'audit_event:1:ip').equals(envelope)).toBe(false);
  });

  it('refuses another context, an altered byte, another key, and garbage', () => {
    const envelope = encrypt(key, 'secret', 'ctx:a');
    expect(() => decrypt(key, envelope, 'ctx:b')).toThrow(DecryptionError);
    const altered = Buffer.from(envelope);
    altered[20]! ^= 1;
    expect(() => decrypt(key, altered, 'ctx:a')).toThrow('The envelope failed authentication');
    expect(() => decrypt(generateKey(), envelope, 'ctx:a')).toThrow(/^No key with id/);
    expect(() => decrypt(key, Buffer.from('nope'), 'ctx:a')).toThrow('Not a version-1 encryption envelope');
  });

  it('rotates keys: new envelopes use the current key, old ones open with a previous one', () => {
    const old = generateKey();
    const current = generateKey();
    const sealedBefore = encrypt(old, 'x', 'ctx');
    const keyring = new Keyring(current, [old]);
    expect(decrypt(keyring, sealedBefore, 'ctx').toString()).toBe('x');
    const wrapped = wrapKey(keyring, key, 'audit_subject:sub_1');
    expect(wrapped.subarray(1, 5).toString('hex')).toBe(current.id);
    expect(unwrapKey(keyring, wrapped, 'audit_subject:sub_1').key.equals(key.key)).toBe(true);
    expect(() => unwrapKey(new Keyring(old), wrapped, 'audit_subject:sub_1')).toThrow(DecryptionError);
  });

  it('derives key ids from the key, and refuses keys that are not 32 bytes', () => {
    expect(keyId(key.key)).toMatch(/^[0-9a-f]{8}$/);
    expect(encryptionKey(key.key).id).toBe(key.id);
    expect(() => encryptionKey(randomBytes(16))).toThrow('An encryption key is 32 bytes, got 16');
  });
});

describe('FLEECE_ENCRYPTION_KEY (claim C14)', () => {
  const production = {
    NODE_ENV: 'production',
    FLEECE_PUBLIC_URL: 'https://fleece.example.com',
    FLEECE_SECRET: 'x'.repeat(40),
  };

  it('refuses to start in production without an encryption key', () => {
    expect(() => loadConfig(production)).toThrow(
      'Invalid environment variable FLEECE_ENCRYPTION_KEY: production needs a random 32-byte key in base64 (it is unset). Generate one with: openssl rand -base64 32',
    );
  });

  it('takes 32 bytes of base64, and the previous keys for rotation', () => {
    const key = randomBytes(32);
    const previous = [randomBytes(32), randomBytes(32)];
    const config = loadConfig({
      ...production,
      FLEECE_ENCRYPTION_KEY: key.toString('base64'),
      FLEECE_ENCRYPTION_KEYS_PREVIOUS: previous.map((k) => k.toString('base64')).join(', '),
    });
    expect(config.encryption.current.key.equals(key)).toBe(true);
    for (const k of previous) expect(config.encryption.get(keyId(k))?.key.equals(k)).toBe(true);
  });

  it('refuses a key that is not 32 bytes of base64, without printing it', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => loadConfig({ FLEECE_ENCRYPTION_KEY: short })).toThrow(
      'Invalid environment variable FLEECE_ENCRYPTION_KEY: expected 32 random bytes in base64 (44 characters), such as the output of: openssl rand -base64 32 (value hidden).',
    );
    expect(() => loadConfig({ FLEECE_ENCRYPTION_KEYS_PREVIOUS: 'not-a-key' })).toThrow(
      /^Invalid environment variable FLEECE_ENCRYPTION_KEYS_PREVIOUS: expected 32 random bytes/,
    );
  });

  it('derives a development key from FLEECE_SECRET with HKDF outside production', () => {
    const config = loadConfig({});
    expect(config.encryption.current.key.equals(deriveKey(DEVELOPMENT_SECRET, ENCRYPTION_KEY_INFO))).toBe(
      true,
    );
    const other = loadConfig({ FLEECE_SECRET: 'y'.repeat(40) });
    expect(other.encryption.current.id).not.toBe(config.encryption.current.id);
  });
});
