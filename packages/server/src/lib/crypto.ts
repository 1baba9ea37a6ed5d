import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption for data Fleece must read back (docs/security.md, claims C5 and C38): AES-256-GCM (NIST SP 800-38D)
 * with a random 96-bit IV per message and a 128-bit tag, in a self-describing envelope:
 *
 * ```
 * offset  size  field
 *      0     1  version, 0x01
 *      1     4  key id: the first 4 bytes of SHA-256("fleece-key-id" ‖ 0x00 ‖ key)
 *      5    12  IV (random)
 *     17     n  ciphertext (n = plaintext length)
 *   17+n    16  GCM authentication tag
 * ```
 *
 * Every call binds the ciphertext to a caller-chosen context string as GCM additional authenticated data
 * (AAD), so a ciphertext moved to another row or field fails to decrypt. The key id lets a keyring pick the
 * right key, which is how keys rotate: new envelopes use the current key, old ones still open under a
 * previous one.
 *
 * Envelope encryption builds on this: a random data key per owner (for example per audit subject)
 * encrypts that owner's data, and is itself stored sealed under the server's key from
 * `FLEECE_ENCRYPTION_KEY` ({@link wrapKey}). Deleting the sealed data key makes the owner's data
 * unreadable (crypto-shredding).
 */

/** Envelope format version written by {@link encrypt}. */
export const ENVELOPE_VERSION = 0x01;
/** Key length in bytes (AES-256). */
export const KEY_BYTES = 32;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES;

/** Thrown when an envelope is malformed, names an unknown key, or fails authentication. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

/** A 256-bit AES key and its id (8 hex characters, derived from the key; not secret). */
export interface EncryptionKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The key id of `key`: hex of the first 4 bytes of SHA-256("fleece-key-id" ‖ 0x00 ‖ key). */
export function keyId(key: Buffer): string {
  return createHash('sha256')
    .update('fleece-key-id\0')
    .update(key)
    .digest()
    .subarray(0, KEY_ID_BYTES)
    .toString('hex');
}

/**
 * Wraps 32 raw bytes as an {@link EncryptionKey}.
 * @throws {RangeError} when `key` is not exactly 32 bytes.
 */
export function encryptionKey(key: Buffer): EncryptionKey {
  if (key.length !== KEY_BYTES)
    throw new RangeError(`An encryption key is ${KEY_BYTES} bytes, got ${key.length}`);
  return { id: keyId(key), key };
}

/** A fresh random 256-bit key (for example a per-subject data key). */
export function generateKey(): EncryptionKey {
  return encryptionKey(randomBytes(KEY_BYTES));
}

/**
 * Derives a 256-bit key from a secret with HKDF-SHA-256 (RFC 5869), salt `fleece`, and `info` naming the
 * key's purpose. Used only for the development default of `FLEECE_ENCRYPTION_KEY`.
 */
export function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'fleece', info, KEY_BYTES));
}

/**
 * The keys able to open envelopes: `current` seals new ones, `previous` only open old ones.
 */
export class Keyring {
  private readonly byId = new Map<string, EncryptionKey>();
  constructor(
    readonly current: EncryptionKey,
    previous: readonly EncryptionKey[] = [],
  ) {
    for (const key of [...previous, current]) this.byId.set(key.id, key);
  }
  /** The key with this id, if the keyring holds it. */
  get(id: string): EncryptionKey | undefined {
    return this.byId.get(id);
  }
}

/**
 * Encrypts `plaintext` under `key`, bound to `aad`, as a version-1 envelope (layout in this module's
 * header). The envelope is 33 bytes longer than the plaintext.
 */
export function encrypt(key: EncryptionKey, plaintext: Buffer | string, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([
    cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
    cipher.final(),
  ]);
  return Buffer.concat([
    Buffer.from([ENVELOPE_VERSION]),
    Buffer.from(key.id, 'hex'),
    iv,
    body,
    cipher.getAuthTag(),
  ]);
}

/**
 * Decrypts an envelope made by {@link encrypt} with the same `aad`, using the key its key id names (from a
 * keyring, or the single key given).
 * @throws {DecryptionError} when the envelope is malformed or of an unknown version, names a key not
 *   given, or fails authentication (wrong key, wrong `aad`, or altered bytes).
 */
export function decrypt(keys: Keyring | EncryptionKey, envelope: Buffer, aad: string): Buffer {
  if (envelope.length < HEADER_BYTES + TAG_BYTES || envelope[0] !== ENVELOPE_VERSION) {
    throw new DecryptionError('Not a version-1 encryption envelope');
  }
  const id = envelope.subarray(1, 1 + KEY_ID_BYTES).toString('hex');
  const key = keys instanceof Keyring ? keys.get(id) : keys.id === id ? keys : undefined;
  if (!key) throw new DecryptionError(`No key with id ${id} is configured`);
  const iv = envelope.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
  const tag = envelope.subarray(envelope.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(envelope.subarray(HEADER_BYTES, envelope.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError('The envelope failed authentication');
  }
}

/** Seals data key `dataKey` under the keyring's current key, bound to `aad` (envelope encryption). */
export function wrapKey(keyring: Keyring, dataKey: EncryptionKey, aad: string): Buffer {
  return encrypt(keyring.current, dataKey.key, aad);
}

/**
 * Opens a data key sealed by {@link wrapKey}.
 * @throws {DecryptionError} as {@link decrypt}, or when the content is not a 32-byte key.
 */
export function unwrapKey(keyring: Keyring, wrapped: Buffer, aad: string): EncryptionKey {
  const raw = decrypt(keyring, wrapped, aad);
  if (raw.length !== KEY_BYTES) throw new DecryptionError('The wrapped data key is not 32 bytes');
  return encryptionKey(raw);
}
