import { AdminUser, type AdminUserListQuery, type AdminUserUpdate } from '../contract/admin.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/** `/api/v1/admin/users`: accounts, for admins signed in with a session (API keys are refused). */
export class AdminUsers extends APIResource {
  /**
   * Lists accounts, newest first, optionally searched (`q`: part of the email or name, or a user id) and
   * filtered by `plan`, `status` and `role`: awaitable (first page) and async iterable (every user).
   *
   * @throws {PermissionDeniedError} (403) for a non-admin or an API key.
   * @example
   * for await (const user of client.admin.users.list({ q: 'example.com', plan: 'free' })) console.log(user.email);
   */
  list(query: AdminUserListQuery = {}, options?: RequestOptions): PagePromise<AdminUser> {
    return this._client.getAPIList('/api/v1/admin/users', AdminUser, { ...options, query });
  }

  /**
   * Sets a user's `plan`, Enterprise `limits` (`null` clears them), or `status` (`suspended` ends every
   * session and API key of the user at once; `active` reinstates). Audited as `admin.plan_overridden` or
   * `admin.user_suspended`.
   *
   * @throws {NotFoundError} (404) for an unknown user; {@link BadRequestError} (400) for limits on a plan
   *   other than Enterprise, or suspending yourself.
   * @example
   * await client.admin.users.update('usr_…', { plan: 'enterprise', limits: { apiPerDay: 2_000_000 } });
   */
  update(id: string, body: AdminUserUpdate, options?: RequestOptions): APIPromise<AdminUser> {
    return this._client.patch(`/api/v1/admin/users/${encodeURIComponent(id)}`, {
      ...options,
      body,
      schema: AdminUser,
    });
  }
}

/** `/api/v1/admin/*`: administration. */
export class Admin extends APIResource {
  /** `/api/v1/admin/users`: list, search, set plans and limits, suspend. */
  readonly users = new AdminUsers(this._client);
}
