import type { Fleece } from '../client.js';
import { Consent, ConsentList, type ConsentType } from '../contract/consents.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { AccountDeletionResource } from './account-deletion.js';

/**
 * `/api/v1/account/consents` (as `client.account.consents`): what you agreed to, per type:
 * `ai_processing` (sending prompts to the AI providers for real-time inference, never for training;
 * without it executing agents, chatting and triggering flows answer 403 `consent_required`),
 * `product_email` and `terms`. Each consent has the policy version it was decided against
 * (`policyVersion`), the version in force (`currentPolicyVersion`) and when (`updatedAt`, ISO 8601 UTC);
 * `granted` is `true` only for a grant of the current version.
 */
export class AccountConsents extends APIResource {
  /**
   * Every consent type of your account, in a fixed order (`ai_processing`, `product_email`, `terms`).
   * Works with a session or an API key.
   *
   * @throws {AuthenticationError} (401) when the credential is missing, invalid or revoked.
   * @example
   * const { data } = await client.account.consents.list();
   * for (const c of data) console.log(c.type, c.granted ? 'granted' : 'not granted', c.currentPolicyVersion);
   */
  list(options?: RequestOptions): APIPromise<ConsentList> {
    return this._client.get('/api/v1/account/consents', { ...options, schema: ConsentList });
  }

  /**
   * Grants (`true`, for the current policy version) or revokes (`false`) one consent, and returns it as it
   * now stands. Idempotent: deciding the same again changes nothing. Needs a session (`fleece login`, or
   * the browser): API keys can read consents but not change them. The server records `consent.granted` /
   * `consent.revoked` in your audit log.
   *
   * @throws {PermissionDeniedError} (403) `forbidden` when called with an API key.
   * @throws {BadRequestError} (400) for an unknown consent type.
   * @example
   * await client.account.consents.set('ai_processing', true); // now agents can run
   */
  set(type: ConsentType, granted: boolean, options?: RequestOptions): APIPromise<Consent> {
    return this._client.put(`/api/v1/account/consents/${encodeURIComponent(type)}`, {
      ...options,
      body: { granted },
      schema: Consent,
    });
  }
}

/**
 * `/api/v1/account/*` (as `client.account`): your account's consents, and (with the account deletion
 * resource) its deletion. Each part is a sub-resource.
 */
export class Account extends APIResource {
  /** `/api/v1/account/consents`: list, grant and revoke consents. */
  readonly consents: AccountConsents;
  /** `/api/v1/account/deletion`: delete the account after a grace period (`request`), `status`, `cancel`. */
  readonly deletion: AccountDeletionResource;

  constructor(client: Fleece) {
    super(client);
    this.consents = new AccountConsents(client);
    this.deletion = new AccountDeletionResource(client);
  }
}
