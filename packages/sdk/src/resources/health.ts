import { HealthResponse } from '../contract/health.js';
import type { APIPromise } from '../core/api-promise.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/** `GET /api/health`: service health for uptime monitors. Public: no credential is sent. */
export class Health extends APIResource {
  /**
   * Fetches the service health: `status` (`ok`, `degraded` or `down`), `version`, `uptimeSeconds`, and the
   * database and migration checks (latency in milliseconds).
   *
   * A server that is down answers 503 with a `HealthResponse` whose `status` is `down`: that body is
   * returned, not thrown, so a monitor reads one typed value in every case (and a 503 is not retried).
   * A 503 without such a body (from a load balancer, say) throws `InternalServerError`.
   *
   * @throws {InternalServerError} for a 5xx without a `HealthResponse` body, after the retries.
   * @throws {APIConnectionError} when the server cannot be reached.
   * @example
   * const client = new Fleece({ auth: false });
   * const health = await client.health.check();
   * if (health.status !== 'ok') console.warn(`degraded: db ${health.checks.database.status}`);
   */
  check(options?: RequestOptions): APIPromise<HealthResponse> {
    return this._client.get('/api/health', {
      ...options,
      schema: HealthResponse,
      anonymous: true,
      okStatuses: [503],
    });
  }
}
