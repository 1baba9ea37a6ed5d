import { createHash } from 'node:crypto';

/**
 * The audit hash chain: canonical encoding, hashing and verification (docs/security.md, "Audit log").
 *
 * Each event's `hash` is SHA-256 (FIPS 180-4) over the UTF-8 bytes of its canonical encoding: a JSON array
 * of every stored column in a fixed order, ending with the previous event's hash:
 *
 * ```
 * ["fleece.audit.v1", id, chain, occurredAt, actorType, actorSubject, apiKeyId, action, resourceType,
 *  resourceId, outcome, metadata, ip, userAgent, ipCiphertext, userAgentCiphertext, requestId, prevHash]
 * ```
 *
 * - `id` is a JSON number; `occurredAt` is ISO 8601 UTC with milliseconds (`2026-01-01T00:00:00.000Z`);
 * - absent values are `null`; binary values (the ciphertexts and `prevHash`) are lower-case hex;
 * - `metadata` is embedded as canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no
 *   whitespace, strings and numbers as ECMAScript `JSON.stringify` writes them.
 *
 * The first event of a chain links to the chain's genesis value, SHA-256("fleece.audit.genesis" ‖ 0x00 ‖
 * chain), so every chain starts from a distinct value. Anyone holding the rows can recompute every hash:
 * the verification needs no secret.
 *
 * Events are hashed where they are written, by the database function `audit_append_event` (migration
 * 0004), which builds the same encoding; this module is the independent check of it.
 */

/** Tag that starts every canonical encoding; a new encoding gets a new tag. */
export const ENCODING_TAG = 'fleece.audit.v1';
/** Bytes of a SHA-256 hash. */
export const HASH_BYTES = 32;

/** The stored fields of an event that its hash covers (every column but `hash`). */
export interface ChainedFields {
  id: number;
  chain: string;
  occurredAt: Date;
  actorType: string;
  actorSubject: string | null;
  apiKeyId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  outcome: string;
  metadata: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  ipCiphertext: Buffer | null;
  userAgentCiphertext: Buffer | null;
  requestId: string | null;
  prevHash: Buffer;
}

/** A stored event: its fields and its hash. */
export interface ChainedEvent extends ChainedFields {
  hash: Buffer;
}

/**
 * Canonical JSON of a JSON value: object keys sorted by UTF-16 code units (RFC 8785 §3.2.3), no
 * insignificant whitespace, strings and numbers as `JSON.stringify` writes them (RFC 8785 §3.2.2).
 * Object members whose value is `undefined` are left out, as `JSON.stringify` does.
 * @throws {TypeError} on a value JSON cannot represent (a non-finite number, a bigint, a function).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Canonical JSON has no non-finite numbers');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`Canonical JSON cannot represent a ${typeof value}`);
  }
}

/** The canonical encoding of an event's fields (see this module's header). */
export function canonicalEncoding(e: ChainedFields): string {
  return canonicalJson([
    ENCODING_TAG,
    e.id,
    e.chain,
    e.occurredAt.toISOString(),
    e.actorType,
    e.actorSubject,
    e.apiKeyId,
    e.action,
    e.resourceType,
    e.resourceId,
    e.outcome,
    e.metadata,
    e.ip,
    e.userAgent,
    e.ipCiphertext?.toString('hex') ?? null,
    e.userAgentCiphertext?.toString('hex') ?? null,
    e.requestId,
    e.prevHash.toString('hex'),
  ]);
}

/** SHA-256 of an event's canonical encoding: the value of its `hash` column (32 bytes). */
export function eventHash(e: ChainedFields): Buffer {
  return createHash('sha256').update(canonicalEncoding(e), 'utf8').digest();
}

/** The `prevHash` of a chain's first event: SHA-256("fleece.audit.genesis" ‖ 0x00 ‖ chain). */
export function genesisHash(chain: string): Buffer {
  return createHash('sha256').update(`fleece.audit.genesis\0${chain}`, 'utf8').digest();
}

/**
 * Why a link is broken:
 * - `hash_mismatch`: the event's fields do not hash to its stored `hash`: it was edited, or it was moved
 *   to another id or chain (a reorder);
 * - `link_mismatch`: the event is intact but its `prevHash` is not the hash of the event before it in the
 *   chain: an event before it was deleted, or one was inserted, or a predecessor was rewritten together
 *   with its hash.
 */
export type ChainBreakReason = 'hash_mismatch' | 'link_mismatch';

/** The first broken link of a chain. */
export interface ChainBreak {
  eventId: number;
  reason: ChainBreakReason;
}

/**
 * Walks one chain, event by event in id order, and reports the first broken link. Feed every event of the
 * chain to {@link ChainVerifier.check} in ascending id order; after the first break the verifier stays
 * broken and ignores further events.
 */
export class ChainVerifier {
  private expectedPrev: Buffer;
  /** Events checked so far, the broken one included. */
  checked = 0;
  /** The first break, once found. */
  broken: ChainBreak | undefined;

  constructor(readonly chain: string) {
    this.expectedPrev = genesisHash(chain);
  }

  /** Checks the next event of the chain; returns the break it reveals, if any. */
  check(event: ChainedEvent): ChainBreak | undefined {
    if (this.broken) return undefined;
    this.checked++;
    if (event.chain !== this.chain || !eventHash(event).equals(event.hash)) {
      this.broken = { eventId: event.id, reason: 'hash_mismatch' };
    } else if (!event.prevHash.equals(this.expectedPrev)) {
      this.broken = { eventId: event.id, reason: 'link_mismatch' };
    }
    this.expectedPrev = event.hash;
    return this.broken;
  }
}
