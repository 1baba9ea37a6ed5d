import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookEvent } from '../contract/webhooks.js';
import { FleeceError } from '../core/errors.js';

/**
 * Webhook signatures: the scheme Fleece signs flow callbacks with, and the receiver's check.
 *
 * Each callback request carries `Fleece-Signature: t=<timestamp>,v1=<signature>` where `timestamp` is the
 * Unix time in seconds when the request was signed and `signature` is the lower-case hex HMAC-SHA256
 * (RFC 2104) of the string `<timestamp>.<raw request body>`, keyed with the whole signing secret
 * (`whsec_…`, as UTF-8). This is Stripe's scheme: a receiver checks the HMAC in constant time and refuses
 * timestamps older than a tolerance (five minutes by default), which stops replays. While a secret is being
 * rotated a header may carry several `v1=` values; one match is enough.
 */

/** The request header that carries the signature. */
export const WEBHOOK_SIGNATURE_HEADER = 'Fleece-Signature';

/** The signature scheme this SDK signs with and checks (`v1`: HMAC-SHA256). */
export const WEBHOOK_SIGNATURE_SCHEME = 'v1';

/** How far, in seconds, a signature's timestamp may be from now before it is refused (300 s, 5 minutes). */
export const DEFAULT_WEBHOOK_TOLERANCE_SEC = 300;

/** Why a webhook request failed verification; see {@link WebhookSignatureError}. */
export type WebhookSignatureErrorCode =
  /** No `Fleece-Signature` header. */
  | 'missing_signature'
  /** The header has no `t=` timestamp or no `v1=` signature, or they are malformed. */
  | 'malformed_signature'
  /** The timestamp is further from now than the tolerance (a replay, or a badly wrong clock). */
  | 'timestamp_outside_tolerance'
  /** No `v1` signature matches the payload under any of the secrets given (wrong secret or altered body). */
  | 'signature_mismatch'
  /** The signature is valid but the body is not JSON. */
  | 'invalid_payload';

/**
 * Thrown by {@link verifyWebhookSignature} when a request must be rejected. `code` says why; answer the
 * request with 400 and do not act on its body.
 */
export class WebhookSignatureError extends FleeceError {
  override name = 'WebhookSignatureError';
  constructor(
    /** Why verification failed. */
    readonly code: WebhookSignatureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A raw request body: the exact bytes received, or their UTF-8 text. */
export type WebhookPayload = string | Uint8Array;

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyWebhookOptions {
  /**
   * The largest accepted distance between the signature's timestamp and now, in seconds; `0` or less turns
   * the check off (not recommended).
   * @default 300
   */
  toleranceSec?: number;
  /**
   * The current time as Unix seconds, or a `Date`; for tests.
   * @default the system clock
   */
  now?: number | Date;
}

function toBuffer(payload: WebhookPayload): Buffer {
  return typeof payload === 'string'
    ? Buffer.from(payload, 'utf8')
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/**
 * The `v1` signature of a payload: lower-case hex HMAC-SHA256, keyed with `secret` (UTF-8), of
 * `<timestamp>.<payload>`.
 *
 * @param timestamp Unix time in seconds (an integer).
 * @example
 * computeWebhookSignature('{"id":"whe_1"}', 'whsec_…', 1767225600); // '5d1c…' (64 hex characters)
 */
export function computeWebhookSignature(payload: WebhookPayload, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(toBuffer(payload)).digest('hex');
}

/**
 * The `Fleece-Signature` header value for a payload: `t=<timestamp>,v1=<signature>`, one `v1` per secret
 * (several during a rotation). Fleece's server signs callbacks with it; use it to build test requests for
 * your receiver.
 *
 * @param timestamp Unix time in seconds; default now.
 * @throws {RangeError} when `timestamp` is not a non-negative integer or no secret is given.
 * @example
 * const header = signWebhookPayload(body, process.env.FLEECE_WEBHOOK_SECRET!);
 * // 't=1767225600,v1=5d1c…'
 */
export function signWebhookPayload(
  payload: WebhookPayload,
  secret: string | readonly string[],
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError('A webhook timestamp is a non-negative integer number of Unix seconds');
  }
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new RangeError('At least one signing secret is needed');
  return [
    `t=${timestamp}`,
    ...secrets.map((s) => `${WEBHOOK_SIGNATURE_SCHEME}=${computeWebhookSignature(payload, s, timestamp)}`),
  ].join(',');
}

/** Parses `t=…,v1=…[,v1=…]`; unknown schemes (such as a future `v2`) are ignored. */
function parseHeader(header: string): { timestamp: number; signatures: string[] } | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't') {
      if (!/^\d{1,15}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === WEBHOOK_SIGNATURE_SCHEME) {
      if (/^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Verifies a Fleece webhook request from the receiver's side and returns its event.
 *
 * Pass the RAW request body (before any JSON parsing: re-serialised JSON does not match), the
 * `Fleece-Signature` header, and the flow's signing secret (`whsec_…`, shown once when the callback was
 * set). During a secret rotation pass both secrets; a match under either is accepted. Signatures are compared
 * in constant time (`crypto.timingSafeEqual`).
 *
 * @param header The `Fleece-Signature` header (Node gives it as `req.headers['fleece-signature']`).
 * @returns The parsed event ({@link WebhookEvent}). Its shape is not validated beyond being JSON, so that
 *   event types added later do not break receivers; switch on `type`.
 * @throws {WebhookSignatureError} with `code` `missing_signature`, `malformed_signature`,
 *   `timestamp_outside_tolerance` (older or newer than `toleranceSec`, default 300 s), `signature_mismatch`
 *   or `invalid_payload`. Answer such a request with 400.
 * @example
 * import { verifyWebhookSignature, WebhookSignatureError } from '@fleece/sdk';
 *
 * app.post('/fleece-webhook', express.raw({ type: 'application/json' }), (req, res) => {
 *   try {
 *     const event = verifyWebhookSignature(req.body, req.get('fleece-signature'), process.env.FLEECE_WEBHOOK_SECRET!);
 *     if (event.type === 'flow.run.completed') console.log(event.data.output);
 *     res.sendStatus(204);
 *   } catch (err) {
 *     if (err instanceof WebhookSignatureError) return res.status(400).send(err.code);
 *     throw err;
 *   }
 * });
 */
export function verifyWebhookSignature(
  payload: WebhookPayload,
  header: string | readonly string[] | null | undefined,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const value = Array.isArray(header) ? header.join(',') : (header as string | null | undefined);
  if (!value) {
    throw new WebhookSignatureError(
      'missing_signature',
      `The request has no ${WEBHOOK_SIGNATURE_HEADER} header; it did not come from Fleece.`,
    );
  }
  const parsed = parseHeader(value);
  if (!parsed) {
    throw new WebhookSignatureError(
      'malformed_signature',
      `The ${WEBHOOK_SIGNATURE_HEADER} header is not of the form t=<unix seconds>,v1=<64 hex characters>.`,
    );
  }
  const toleranceSec = options.toleranceSec ?? DEFAULT_WEBHOOK_TOLERANCE_SEC;
  const now =
    options.now === undefined
      ? Date.now() / 1000
      : options.now instanceof Date
        ? options.now.getTime() / 1000
        : options.now;
  if (toleranceSec > 0 && Math.abs(now - parsed.timestamp) > toleranceSec) {
    throw new WebhookSignatureError(
      'timestamp_outside_tolerance',
      `The signature's timestamp (${parsed.timestamp}) is more than ${toleranceSec} s from now (${Math.floor(now)}); the request may be a replay, or this machine's clock is wrong.`,
    );
  }
  const secrets = typeof secret === 'string' ? [secret] : secret;
  const body = toBuffer(payload);
  let matched = false;
  for (const s of secrets) {
    const expected = Buffer.from(computeWebhookSignature(body, s, parsed.timestamp), 'hex');
    for (const candidate of parsed.signatures) {
      // No early exit: the work done does not depend on which candidate (if any) matches.
      if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
    }
  }
  if (!matched) {
    throw new WebhookSignatureError(
      'signature_mismatch',
      'No signature in the Fleece-Signature header matches the payload: check the signing secret, and pass the raw request body (not re-serialised JSON).',
    );
  }
  try {
    return JSON.parse(body.toString('utf8')) as WebhookEvent;
  } catch {
    throw new WebhookSignatureError('invalid_payload', 'The signed payload is not JSON.');
  }
}
