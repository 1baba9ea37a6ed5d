import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random secrets, their storage form and prefixed ids: the primitives every module shares. Every secret
 * Fleece hands out (API keys, refresh tokens, magic-link tokens, device codes, authorization codes) has 256
 * bits of entropy and is stored only as its SHA-256 hash (docs/security.md, claims C5 and C38); a lookup
 * hashes the presented value and matches the hash through a unique index.
 */

/** A new random secret: 32 bytes (256 bits) as base64url, 43 characters. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The storage form of a secret (an API key with its prefix, a refresh token, a magic-link token …): SHA-256
 * of its UTF-8 bytes, as 64 lower-case hex characters.
 */
export function hashSecret(secret: string): string {
  // The one-shot form (no Hash object): this runs on every API-key request.
  return hash('sha256', secret, 'hex');
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
 * `usr_4k2j…`. Prefixes include `usr_`, `ses_`, `key_`, `agt_`, `exe_`, `flw_`, `cnv_`.
 */
export function newId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = `${prefix}_`;
  for (const b of bytes) out += ID_ALPHABET[b % 36];
  return out;
}
