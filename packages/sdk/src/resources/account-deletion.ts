import { AccountDeletion } from '../contract/account-deletion.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/**
 * `/api/v1/account/deletion` (as `client.account.deletion`): deleting your account, with a grace period in
 * which it can be cancelled. Every method resolves with the account's {@link AccountDeletion} state:
 * `status` (`active` | `pending_deletion`), `requestedAt` and `purgeAfter` (ISO 8601, UTC; `null` when
 * nothing is pending), `cancellable`, and the server's `graceDays` (1 to 30).
 *
 * While a deletion is pending the account can sign in again, but only to read its profile and deletion
 * state and to cancel: every other call answers 403 `account_pending_deletion`.
 */
export class AccountDeletionResource extends APIResource {
  /**
   * The account's deletion state (`GET /api/v1/account/deletion`). Works with an API key, a session, and
   * for an account pending deletion.
   *
   * @throws {AuthenticationError} (401) when the credential is missing, invalid or revoked.
   * @example
   * const state = await client.account.deletion.status();
   * if (state.status === 'pending_deletion') console.log(`Deleted after ${state.purgeAfter}`);
   */
  status(options?: RequestOptions): APIPromise<AccountDeletion> {
    return this._client.get('/api/v1/account/deletion', { ...options, schema: AccountDeletion });
  }

  /**
   * Requests deletion of your account (`POST /api/v1/account/deletion`, answered 202). Needs an access
   * token from a sign-in within the last 10 minutes (`fleece login`, or the browser); API keys cannot.
   * The account becomes `pending_deletion`: every session, refresh token and API key of it is revoked at
   * once, this client's credential included; the Stripe subscription, if any, is cancelled; and after
   * `purgeAfter` everything the account owns is permanently deleted (audit events stay, anonymised).
   * Not retried (the first attempt revokes the credential a retry would send); pass `maxRetries` to change
   * that.
   *
   * @throws {PermissionDeniedError} (403) `reauthentication_required` when the sign-in is older than 10
   *   minutes (sign in again, then retry), `forbidden` with an API key.
   * @example
   * const { purgeAfter } = await client.account.deletion.request();
   * console.log(`Scheduled: everything is deleted after ${purgeAfter}`);
   */
  request(options?: RequestOptions): APIPromise<AccountDeletion> {
    return this._client.post('/api/v1/account/deletion', {
      maxRetries: 0,
      ...options,
      schema: AccountDeletion,
    });
  }

  /**
   * Cancels a pending deletion within the grace period (`POST /api/v1/account/deletion/cancel`): the
   * account is `active` again. What the request revoked (sessions, API keys) stays revoked: sign in and
   * create new keys. Needs a session (sign in again: a pending account can). Not retried: a retry after a
   * lost answer would meet `deletion_not_pending`; pass `maxRetries` to change that.
   *
   * @throws {ConflictError} (409) `deletion_not_pending` when nothing is pending; `deletion_in_progress` once
   *   the grace period is over.
   * @throws {PermissionDeniedError} (403) `forbidden` with an API key.
   * @example
   * await client.account.deletion.cancel();
   */
  cancel(options?: RequestOptions): APIPromise<AccountDeletion> {
    return this._client.post('/api/v1/account/deletion/cancel', {
      maxRetries: 0,
      ...options,
      schema: AccountDeletion,
    });
  }
}
