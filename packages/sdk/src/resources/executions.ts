import { Execution, ExecutionEventSchemas, type ExecutionListQuery } from '../contract/executions.js';
import type { PageQuery } from '../contract/pagination.js';
import { WebhookDelivery } from '../contract/webhooks.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { decodeEvents, type Stream } from '../core/streaming.js';
import { type ExecutionEvent, type ExecutionStream, executionStream } from './agents.js';

/** `/api/v1/executions`: runs of your agents. Needs an API key or an access token. */
export class Executions extends APIResource {
  /**
   * Lists your executions, newest first, optionally filtered by `agentId`, `flowId` and `status`:
   * awaitable (first page) and async iterable (every execution).
   * @example
   * for await (const e of client.executions.list({ status: 'failed' })) console.log(e.id, e.error?.code);
   */
  list(query: Partial<ExecutionListQuery> = {}, options?: RequestOptions): PagePromise<Execution> {
    return this._client.getAPIList('/api/v1/executions', Execution, { ...options, query });
  }

  /**
   * Fetches one execution (input and output included). @throws {NotFoundError} when it is not yours.
   * @example
   * const { status, output } = await client.executions.get('exe_…');
   */
  get(id: string, options?: RequestOptions): APIPromise<Execution> {
    return this._client.get(`/api/v1/executions/${encodeURIComponent(id)}`, {
      ...options,
      schema: Execution,
    });
  }

  /**
   * Replays the event stream of a running or finished execution from the start, then follows it live
   * until `done`; a drop resumes with `Last-Event-ID`.
   * @example
   * const output = await (await client.executions.events('exe_…')).text();
   */
  events(id: string, options?: RequestOptions): Promise<ExecutionStream> {
    const opened: Promise<Stream<ExecutionEvent>> = this._client.stream<ExecutionEvent>({
      ...options,
      method: 'get',
      path: `/api/v1/executions/${encodeURIComponent(id)}/events`,
      decode: decodeEvents(ExecutionEventSchemas),
    });
    return opened.then(executionStream);
  }

  /**
   * Lists the webhook callback delivery attempts of a flow run (its execution), newest first: each POST to
   * the flow's `callbackUrl` with its HTTP `status` or safe `errorCode`, duration in ms, a short excerpt of
   * the answer, and when the next retry is due. Awaitable (first page) and async iterable (every attempt);
   * empty for an execution without a callback.
   * @throws {NotFoundError} when the execution is not yours.
   * @example
   * for await (const d of client.executions.deliveries('exe_…')) {
   *   console.log(d.attempt, d.outcome, d.status ?? d.errorCode, d.nextAttemptAt);
   * }
   */
  deliveries(
    id: string,
    query: Partial<PageQuery> = {},
    options?: RequestOptions,
  ): PagePromise<WebhookDelivery> {
    return this._client.getAPIList(
      `/api/v1/executions/${encodeURIComponent(id)}/deliveries`,
      WebhookDelivery,
      { ...options, query },
    );
  }

  /**
   * Cancels a queued or running execution; a finished one is returned unchanged.
   * @example
   * const { status } = await client.executions.cancel('exe_…'); // 'cancelled'
   */
  cancel(id: string, options?: RequestOptions): APIPromise<Execution> {
    return this._client.post(`/api/v1/executions/${encodeURIComponent(id)}/cancel`, {
      ...options,
      schema: Execution,
    });
  }
}
