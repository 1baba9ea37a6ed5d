import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { hashSecret } from '../../lib/secrets.js';

/**
 * The API key format, in the manner of GitHub's token format: `flc_` + 43 base62 characters encoding 32
 * random bytes (256 bits from the CSPRNG) + a 6-character base62 CRC32 checksum of those 43 characters,
 * 53 characters in all, such as `flc_1x4Lr…K9aZ0Qs2b`. The prefix makes leaked keys easy to find by secret
 * scanners; the checksum lets the server (and scanners) reject a mistyped or made-up key without a database
 * lookup. Keys are stored only as their SHA-256 (`hashSecret` of `src/lib/secrets.ts`).
 */

/** Every API key starts with this. */
export const API_KEY_PREFIX = 'flc_';
/** Length of the random part: 32 bytes in base62. */
export const API_KEY_RANDOM_LENGTH = 43;
/** Length of the checksum: a CRC32 in base62. */
export const API_KEY_CHECKSUM_LENGTH = 6;
/** Characters of the random part shown to tell keys apart (`start`). */
export const API_KEY_START_LENGTH = 8;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY = new RegExp(
  `^${API_KEY_PREFIX}([0-9A-Za-z]{${API_KEY_RANDOM_LENGTH}})([0-9A-Za-z]{${API_KEY_CHECKSUM_LENGTH}})$`,
);

/** `value` in base62 (digits, upper case, lower case), left-padded with `0` to `width` characters. */
export function base62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = BASE62[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  if (out.length > width) throw new RangeError(`${value} does not fit in ${width} base62 characters`);
  return out.padStart(width, '0');
}

/**
 * The 6-character base62 CRC32 (ISO-HDLC, as zlib computes it) of the random part's ASCII bytes. (A CRC32
 * fits a double exactly, so this avoids BigInt: it runs on every API-key request.)
 */
export function checksum(random: string): string {
  let rest = crc32(random);
  let out = '';
  for (let i = 0; i < API_KEY_CHECKSUM_LENGTH; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** A new key: the plaintext (shown once), its hash (stored) and its `start` (stored, for display). */
export interface GeneratedApiKey {
  key: string;
  hash: string;
  start: string;
}

/** Generates a new key from 32 bytes of the CSPRNG (`crypto.randomBytes`). */
export function generateApiKey(): GeneratedApiKey {
  const random = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), API_KEY_RANDOM_LENGTH);
  const key = `${API_KEY_PREFIX}${random}${checksum(random)}`;
  return { key, hash: hashSecret(key), start: random.slice(0, API_KEY_START_LENGTH) };
}

/**
 * Whether `value` is a well-formed key with a correct checksum. A key that fails this is refused without
 * looking anything up. (It says nothing about whether such a key exists.)
 */
export function isWellFormedApiKey(value: string): boolean {
  const match = KEY.exec(value);
  return match !== null && checksum(match[1]!) === match[2];
}
