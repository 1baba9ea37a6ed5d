import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random secrets and their storage form. Every secret Fleece hands out (refresh tokens, magic-link tokens,
 * device codes, authorization codes) has 256 bits of entropy and is stored only as its SHA-256 hash
 * (docs/security.md, claims C5 and C38); a lookup hashes the presented value and matches the hash through a unique index.
 */

/** A new random secret: 32 bytes (256 bits) as base64url, 43 characters. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The storage form of a secret: SHA-256 of its UTF-8 bytes, as 64 lower-case hex characters. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares two strings in time independent of where they differ (lengths leak, contents do not). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A Stripe-style prefixed id: `prefix_` + 24 characters of `[0-9a-z]` (about 124 random bits), such as
 * `usr_4k2j…`. Prefixes: `usr_`, `idn_`, `ses_`, `rtk_`, `mlt_`, `dev_`, `acd_`.
 */
export function newId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = `${prefix}_`;
  for (const b of bytes) out += ID_ALPHABET[b % 36];
  return out;
}
