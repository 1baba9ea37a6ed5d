import { Execution } from '../contract/executions.js';
import {
  CreatedFlow,
  type CreateFlowRequest,
  Flow,
  type TriggerFlowRequest,
  type UpdateFlowRequest,
} from '../contract/flows.js';
import type { PageQuery } from '../contract/pagination.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/**
 * `/api/v1/flows`: flows (ordered steps, each an agent with an input template using `{{input}}` and
 * `{{steps.<name>.output}}`), their runs, cron schedules and webhook callbacks. Needs an API key or an
 * access token; triggering needs the `flows:trigger` scope.
 */
export class Flows extends APIResource {
  /**
   * Creates a flow. With a `callbackUrl`, the result carries `callbackSecret` (`whsec_…`), the key that
   * signs its webhook callbacks (`Fleece-Signature`; check them with `verifyWebhookSignature`): it is shown
   * only here, so store it.
   *
   * @throws {BadRequestError} (400 `validation_failed`) for a template that refers to an unknown or later
   *   step, a duplicate step name, an agent that is not yours or a bad cron `schedule`, naming the step and
   *   the reference in `errors`; (400 `invalid_callback_url`) for a callback URL that is not public https.
   * @example
   * const flow = await client.flows.create({
   *   name: 'review',
   *   steps: [
   *     { name: 'draft', agentId: 'agt_…', input: 'Draft a reply to: {{input}}' },
   *     { name: 'polish', agentId: 'agt_…', input: 'Polish this draft: {{steps.draft.output}}' },
   *   ],
   *   schedule: '0 6 * * 1-5',
   * });
   */
  create(body: CreateFlowRequest, options?: RequestOptions): APIPromise<CreatedFlow> {
    return this._client.post('/api/v1/flows', { maxRetries: 0, ...options, body, schema: CreatedFlow });
  }

  /**
   * Lists your flows, newest first: awaitable (first page) and async iterable (every flow).
   * @example
   * for await (const flow of client.flows.list()) console.log(flow.id, flow.name, flow.schedule ?? '-');
   */
  list(query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<Flow> {
    return this._client.getAPIList('/api/v1/flows', Flow, { ...options, query });
  }

  /**
   * Fetches one flow (never its signing secret: `hasCallbackSecret` says one exists).
   * @throws {NotFoundError} when it is not yours (or does not exist).
   * @example
   * const flow = await client.flows.get('flw_…');
   */
  get(id: string, options?: RequestOptions): APIPromise<Flow> {
    return this._client.get(`/api/v1/flows/${encodeURIComponent(id)}`, { ...options, schema: Flow });
  }

  /**
   * Changes the fields given (`steps` replaces every step; `schedule: null` unschedules; `callbackUrl:
   * null` removes the callback). A new `callbackUrl` issues a new signing secret, returned once as
   * `callbackSecret`. @throws {NotFoundError} when it is not yours; {@link BadRequestError} as for create.
   * @example
   * await client.flows.update('flw_…', { schedule: '*\/15 * * * *', scheduleInput: 'status report' });
   */
  update(id: string, body: UpdateFlowRequest, options?: RequestOptions): APIPromise<CreatedFlow> {
    return this._client.patch(`/api/v1/flows/${encodeURIComponent(id)}`, {
      ...options,
      body,
      schema: CreatedFlow,
    });
  }

  /**
   * Deletes a flow and its schedule; its runs stay (with `flowId: null`).
   * @throws {NotFoundError} when it is not yours.
   * @example
   * await client.flows.delete('flw_…');
   */
  delete(id: string, options?: RequestOptions): APIPromise<unknown> {
    return this._client.delete(`/api/v1/flows/${encodeURIComponent(id)}`, options);
  }

  /**
   * Queues a run of the flow with `input` as its `{{input}}` and resolves with the run (an
   * {@link Execution}, `queued`; HTTP 202). A worker runs the steps in order, each as a child execution
   * (`parentId` = the run). Follow it with `client.executions.events(run.id)` (its `finalExecution()`
   * resolves when the run ends) or poll `client.executions.get(run.id)`; list its steps with
   * `client.executions.list({ parentId: run.id })`. Every call carries an `Idempotency-Key` (the SDK makes
   * one; pass `idempotencyKey` to choose it), so a retried call (after a lost answer, a 5xx or a 429) gets
   * the run the first attempt queued (HTTP 200, the run as it is now) instead of a second run or a 409.
   * A 409 is never retried: it means another run of the flow is active.
   *
   * @throws {ConflictError} (409 `flow_already_running`, with the active run's `executionId`) while a run
   *   of the flow is queued or running; {@link PermissionDeniedError} (403 `plan_limit_reached`) when this
   *   month's executions left are fewer than the flow's steps, (403 `consent_required`) without the
   *   `ai_processing` consent; {@link RateLimitError} (429) beyond 5 triggers a minute;
   *   {@link NotFoundError} for a flow not yours; {@link BadRequestError} (400 `validation_failed` naming
   *   `headers.idempotency-key`) for an `idempotencyKey` already used for another request.
   * @example
   * const run = await client.flows.trigger('flw_…', { input: 'Summarise the week' });
   * const done = await (await client.executions.events(run.id)).finalExecution();
   * console.log(done.status, done.output ?? done.error?.message);
   */
  trigger(id: string, body: TriggerFlowRequest, options?: RequestOptions): APIPromise<Execution> {
    return this._client.post(`/api/v1/flows/${encodeURIComponent(id)}/trigger`, {
      ...options,
      body,
      schema: Execution,
      finalStatuses: [409],
    });
  }

  /**
   * Lists the flow's runs, newest first (steps are not included: list those with
   * `client.executions.list({ parentId })`): awaitable (first page) and async iterable (every run).
   * @throws {NotFoundError} when the flow is not yours.
   * @example
   * for await (const run of client.flows.executions('flw_…')) console.log(run.id, run.status, run.error?.step);
   */
  executions(id: string, query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<Execution> {
    return this._client.getAPIList(`/api/v1/flows/${encodeURIComponent(id)}/executions`, Execution, {
      ...options,
      query,
    });
  }
}
