import { ModelList } from '../contract/models.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/** `GET /api/v1/models`: the models the server offers. Needs an API key or an access token. */
export class Models extends APIResource {
  /**
   * Lists the models the server offers, in one response: `data` (each model's `id`, `displayName`,
   * `provider` (`openai`, `anthropic` or `mock`), `tier` (`standard` or `premium`), `contextWindow` and
   * `maxOutputTokens` in tokens, and `allowed`: whether your plan may use it) and `defaultModel`, used when
   * a request names none. A model with `allowed: false` answers 403 `plan_limit_reached` when used.
   *
   * @throws {AuthenticationError} (401) when the credential is missing, invalid, expired or revoked.
   * @throws {APIConnectionError} when the server cannot be reached.
   * @example
   * const client = new Fleece({ apiKey: process.env.FLEECE_API_KEY });
   * const { data, defaultModel } = await client.models.list();
   * for (const model of data.filter((m) => m.allowed)) console.log(model.id, model.contextWindow);
   */
  list(options?: RequestOptions): APIPromise<ModelList> {
    return this._client.get('/api/v1/models', { ...options, schema: ModelList });
  }
}
