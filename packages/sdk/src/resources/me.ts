import { MeResponse } from '../contract/identity.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/** `GET /api/v1/me`: who the credential belongs to. Needs an API key or an access token. */
export class Me extends APIResource {
  /**
   * Fetches the caller's account (`user`: `id`, `email`, `name`, `role`, `status`, `emailVerified`,
   * `createdAt`), `plan` (`id`, `name`), `entitlements` (what the plan allows) and `usage` (what the
   * account uses now, counted live).
   *
   * @throws {AuthenticationError} (401) when the credential is missing, invalid, expired or revoked.
   * @throws {APIConnectionError} when the server cannot be reached.
   * @example
   * const client = new Fleece({ apiKey: process.env.FLEECE_API_KEY });
   * const { user, plan } = await client.me.get();
   * console.log(`${user.email} on the ${plan.name} plan`);
   */
  get(options?: RequestOptions): APIPromise<MeResponse> {
    return this._client.get('/api/v1/me', { ...options, schema: MeResponse });
  }
}
