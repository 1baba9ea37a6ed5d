import { z } from 'zod';

/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): 1–255 printable ASCII
 * characters (`%x21-7E`), chosen by the client once per operation and sent again on every retry of it.
 * The server keeps the key with what the request created, per user, for as long as that record is
 * kept; a retry with the same key answers that record instead of doing the work again, and a different
 * request with a key already used is refused (400 `validation_failed` naming `headers.idempotency-key`).
 */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, '1–255 printable ASCII characters')
  .describe(
    'Makes retries safe: a retry with the same key answers what the first request created (200), with nothing done twice; 1–255 printable ASCII characters.',
  );

/** Request headers of an operation that takes an {@link IdempotencyKey} (other headers pass through). */
export const IdempotencyKeyHeaders = z.object({ 'idempotency-key': IdempotencyKey.optional() });
export type IdempotencyKeyHeaders = z.infer<typeof IdempotencyKeyHeaders>;
