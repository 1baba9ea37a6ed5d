import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/lib/secrets.js';
import { base62, checksum, generateApiKey, isWellFormedApiKey } from '../../src/modules/api-keys/format.js';

describe('API key format (claim C5)', () => {
  it('is flc_ + 43 base62 characters of 256 random bits + a 6-character base62 CRC32 of them', () => {
    const { key, start, hash } = generateApiKey();
    expect(key).toMatch(/^flc_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/);
    const random = key.slice(4, 47);
    expect(key.slice(47)).toBe(base62(BigInt(crc32(Buffer.from(random))), 6));
    expect(start).toBe(key.slice(4, 12));
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  it('never repeats a key in 2,000 draws', () => {
    const keys = new Set(Array.from({ length: 2_000 }, () => generateApiKey().key));
    expect(keys.size).toBe(2_000);
  });

  it('encodes base62 with leading zeros and refuses values that do not fit', () => {
    expect(base62(0n, 6)).toBe('000000');
    expect(base62(61n, 2)).toBe('0z');
    expect(base62(62n, 2)).toBe('10');
    expect(base62(2n ** 32n - 1n, 6)).toBe('4gfFC3');
    expect(() => base62(62n ** 6n, 6)).toThrow(RangeError);
  });

  it('rejects a key with one character changed, by its checksum', () => {
    const { key } = generateApiKey();
    const i = 10;
    const flipped = `${key.slice(0, i)}${key[i] === 'a' ? 'b' : 'a'}${key.slice(i + 1)}`;
    expect(isWellFormedApiKey(flipped)).toBe(false);
    const badSum = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
    expect(isWellFormedApiKey(badSum)).toBe(false);
  });

  it('rejects other prefixes, lengths and alphabets', () => {
    const { key } = generateApiKey();
    const random = key.slice(4, 47);
    for (const bad of [
      `flk_${key.slice(4)}`,
      key.slice(0, -1),
      `${key}0`,
      `flc_${random.slice(0, 42)}-${checksum(`${random.slice(0, 42)}-`)}`,
      '',
      'flc_',
    ]) {
      expect(isWellFormedApiKey(bad), bad).toBe(false);
    }
  });

  it('hashes the whole key with SHA-256, hex', () => {
    const { key, hash } = generateApiKey();
    expect(hash).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
    expect(hashSecret('flc_x')).toBe(createHash('sha256').update('flc_x', 'utf8').digest('hex'));
  });
});
