import { ApiKey, type CreateApiKeyRequest, CreatedApiKey } from '../contract/api-keys.js';
import type { PageQuery } from '../contract/pagination.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/**
 * `/api/v1/api-keys`: the caller's API keys. Creating a key needs a signed-in session (an access token
 * from `fleece login`): API keys cannot create keys. Listing and revoking work with a key too.
 */
export class ApiKeys extends APIResource {
  /**
   * Creates an API key: `name`, optional `scopes` (default every scope) and `expiresIn` (days, 1–365, or an
   * ISO 8601 time in the future). The result carries `key`, the plaintext `flc_…`: it is shown this once,
   * so store it now. The call is not retried (a retry after a lost response would create a second key);
   * pass `maxRetries` to change that.
   *
   * @throws {PermissionDeniedError} (403) `plan_limit_reached` (`upgrade: true`) when the plan's key limit
   *   is reached (Free allows none), or `forbidden` when called with an API key.
   * @throws {BadRequestError} (400) naming the field, e.g. an `expiresIn` in the past.
   * @example
   * const created = await client.apiKeys.create({ name: 'ci', scopes: ['read', 'agents:execute'], expiresIn: 90 });
   * console.log(created.key); // flc_… (shown once)
   */
  create(body: CreateApiKeyRequest, options?: RequestOptions): APIPromise<CreatedApiKey> {
    return this._client.post('/api/v1/api-keys', {
      maxRetries: 0,
      ...options,
      body,
      schema: CreatedApiKey,
    });
  }

  /**
   * Lists your keys that are not revoked, newest first (never their secrets): awaitable (first page) and
   * async iterable (every key). `lastUsedAt` may lag the last use by up to about a minute.
   *
   * @example
   * for await (const key of client.apiKeys.list()) console.log(key.id, key.name, key.lastUsedAt);
   */
  list(query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<ApiKey> {
    return this._client.getAPIList('/api/v1/api-keys', ApiKey, { ...options, query });
  }

  /**
   * Revokes a key at once, on every server instance. Idempotent: revoking a revoked key succeeds too.
   *
   * @throws {NotFoundError} (404) when no key of yours has this id.
   * @example
   * await client.apiKeys.revoke('key_…');
   */
  revoke(id: string, options?: RequestOptions): APIPromise<unknown> {
    return this._client.delete(`/api/v1/api-keys/${encodeURIComponent(id)}`, options);
  }
}
