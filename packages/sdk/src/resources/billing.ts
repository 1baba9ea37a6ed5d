import { BillingStatus, BillingUrl, type CheckoutRequest } from '../contract/billing.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/**
 * `/api/v1/billing`: your plan and Stripe subscription. Payment happens on pages Stripe hosts (Checkout,
 * customer portal): these methods return their URLs, and card data never passes through Fleece or this SDK.
 * On a server without Stripe every method rejects with an `InternalServerError` of status 503 and code
 * `billing_not_configured` (an administrator sets plans there).
 */
export class Billing extends APIResource {
  /**
   * Fetches your `plan` (`id`, `name`), `subscription` (`id`, Stripe `status`, the `plan` it buys,
   * `currentPeriodEnd` as ISO 8601 UTC, `cancelAtPeriodEnd`; `null` if you never subscribed), `usage`
   * against the plan's limits (as in `me.get()`), and `notices`: `api_keys_disabled` (a downgrade disabled
   * your newest keys; `apiKeyIds` names them) or `payment_failed`.
   *
   * @throws {AuthenticationError} (401) without a valid credential.
   * @throws {InternalServerError} (503) `billing_not_configured` on a server without Stripe.
   * @example
   * const { plan, subscription, notices } = await client.billing.get();
   * console.log(plan.name, subscription?.status ?? 'no subscription');
   * for (const notice of notices) console.warn(notice.message);
   */
  get(options?: RequestOptions): APIPromise<BillingStatus> {
    return this._client.get('/api/v1/billing', { ...options, schema: BillingStatus });
  }

  /**
   * Starts a subscription to `plan` (`pro` or `business`): returns the `url` of a Stripe Checkout page to
   * open in a browser. The plan changes when Stripe confirms the payment (a webhook), not when this
   * returns. Needs a signed-in session (an access token from `fleece login`); API keys cannot buy plans.
   *
   * @throws {PermissionDeniedError} (403) `forbidden` when called with an API key.
   * @throws {ConflictError} (409) `already_subscribed` while a subscription bills: change plans with
   *   {@link portal} instead.
   * @throws {InternalServerError} (502) `billing_provider_error` when Stripe failed (nothing was charged);
   *   (503) `billing_not_configured`.
   * @example
   * const { url } = await client.billing.checkout({ plan: 'pro' });
   * console.log(`Open ${url} to pay`);
   */
  checkout(body: CheckoutRequest, options?: RequestOptions): APIPromise<BillingUrl> {
    return this._client.post('/api/v1/billing/checkout', { ...options, body, schema: BillingUrl });
  }

  /**
   * Returns the `url` of your Stripe customer portal: change or cancel the plan, update the payment method,
   * download invoices. Needs a signed-in session.
   *
   * @throws {NotFoundError} (404) `no_billing_account` before your first checkout.
   * @throws {InternalServerError} (502) `billing_provider_error`; (503) `billing_not_configured`.
   * @example
   * const { url } = await client.billing.portal();
   */
  portal(options?: RequestOptions): APIPromise<BillingUrl> {
    return this._client.post('/api/v1/billing/portal', { ...options, schema: BillingUrl });
  }
}
