import { z } from 'zod';

/**
 * The deletion state of the caller's account (`GET /api/v1/account/deletion`; also the answer of
 * `POST /api/v1/account/deletion` and of `POST /api/v1/account/deletion/cancel`).
 *
 * - `status`: `active`, or `pending_deletion` between a deletion request and the purge;
 * - `requestedAt`: when deletion was requested (ISO 8601, UTC); `null` when none is pending;
 * - `purgeAfter`: the end of the grace period (ISO 8601, UTC): from then on the account and everything it
 *   owns is permanently deleted, at the latest one day later; `null` when none is pending;
 * - `cancellable`: whether `POST /api/v1/account/deletion/cancel` can still restore the account;
 * - `graceDays`: the server's grace period in days (`FLEECE_DELETION_GRACE_DAYS`, 1 to 30).
 */
export const AccountDeletion = z.object({
  status: z.enum(['active', 'pending_deletion']),
  requestedAt: z.iso.datetime().nullable(),
  purgeAfter: z.iso.datetime().nullable(),
  cancellable: z.boolean(),
  graceDays: z.number().int().min(1).max(30),
});
export type AccountDeletion = z.infer<typeof AccountDeletion>;
