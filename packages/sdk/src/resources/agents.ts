import { Agent, type CreateAgentRequest, type UpdateAgentRequest } from '../contract/agents.js';
import { Execution, ExecutionEventSchemas } from '../contract/executions.js';
import type { PageQuery } from '../contract/pagination.js';
import type { APIPromise } from '../core/api-promise.js';
import { FleeceError } from '../core/errors.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { decodeEvents, type Stream, type TypedEvent } from '../core/streaming.js';

/** One event of an execution stream: `execution.started`, `output.delta`, …, `done` (typed `data`). */
export type ExecutionEvent = TypedEvent<typeof ExecutionEventSchemas>;

/**
 * The Server-Sent Events of an execution ({@link Stream} of {@link ExecutionEvent}), with helpers that read
 * it to its end. It resumes with `Last-Event-ID` after a drop, without gaps or duplicates.
 */
export interface ExecutionStream extends Stream<ExecutionEvent> {
  /**
   * Reads the stream to its end and resolves with the final execution (from `execution.completed`,
   * `execution.failed` or `execution.cancelled`).
   * @throws {FleeceError} when the stream ended without one.
   */
  finalExecution(): Promise<Execution>;
  /** Reads the stream to its end and resolves with the output: every `output.delta`, concatenated. */
  text(): Promise<string>;
}

/** Adds the {@link ExecutionStream} helpers to a stream of execution events. */
export function executionStream(stream: Stream<ExecutionEvent>): ExecutionStream {
  let read: Promise<{ text: string; final: Execution | undefined }> | undefined;
  const readAll = () => {
    read ??= (async () => {
      let text = '';
      let final: Execution | undefined;
      for await (const event of stream) {
        if (event.event === 'output.delta') text += event.data.text;
        else if (event.event !== 'execution.started' && event.event !== 'done') final = event.data;
      }
      return { text, final };
    })();
    return read;
  };
  return Object.assign(stream, {
    async finalExecution(): Promise<Execution> {
      const { final } = await readAll();
      if (!final) {
        throw new FleeceError(
          `The execution stream ended without a final execution (request id ${stream.requestId})`,
          {
            requestId: stream.requestId,
          },
        );
      }
      return final;
    },
    async text(): Promise<string> {
      return (await readAll()).text;
    },
  });
}

/** Options of {@link Agents.execute}. */
export interface ExecuteParams {
  /** The user message the agent answers (1–100,000 characters). */
  input: string;
  /** Stream the execution as Server-Sent Events. */
  stream?: boolean;
}

/** `/api/v1/agents`: agents and running them. Needs an API key or an access token. */
export class Agents extends APIResource {
  /**
   * Creates an agent. @throws {PermissionDeniedError} (403 `plan_limit_reached`) beyond the plan's agent
   * count or for a premium model on Free; {@link BadRequestError} for an unknown model.
   * @example
   * const agent = await client.agents.create({ name: 'triage', instructions: 'Label the issue.' });
   */
  create(body: CreateAgentRequest, options?: RequestOptions): APIPromise<Agent> {
    return this._client.post('/api/v1/agents', { ...options, body, schema: Agent });
  }

  /**
   * Lists your agents, newest first: awaitable (first page) and async iterable (every agent).
   * @example
   * for await (const agent of client.agents.list()) console.log(agent.id, agent.name);
   */
  list(query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<Agent> {
    return this._client.getAPIList('/api/v1/agents', Agent, { ...options, query });
  }

  /**
   * Fetches one agent. @throws {NotFoundError} when it is not yours (or does not exist).
   * @example
   * const agent = await client.agents.get('agt_…');
   */
  get(id: string, options?: RequestOptions): APIPromise<Agent> {
    return this._client.get(`/api/v1/agents/${encodeURIComponent(id)}`, { ...options, schema: Agent });
  }

  /**
   * Changes the fields given. @throws {NotFoundError} when it is not yours (or does not exist).
   * @example
   * await client.agents.update('agt_…', { temperature: 0.2 });
   */
  update(id: string, body: UpdateAgentRequest, options?: RequestOptions): APIPromise<Agent> {
    return this._client.patch(`/api/v1/agents/${encodeURIComponent(id)}`, {
      ...options,
      body,
      schema: Agent,
    });
  }

  /**
   * Deletes an agent (its executions stay). @throws {NotFoundError} when it is not yours.
   * @example
   * await client.agents.delete('agt_…');
   */
  delete(id: string, options?: RequestOptions): APIPromise<unknown> {
    return this._client.delete(`/api/v1/agents/${encodeURIComponent(id)}`, options);
  }

  /**
   * Runs an agent. Without `stream`, resolves with the finished {@link Execution}. With `stream: true`,
   * resolves with an {@link ExecutionStream} once the response headers arrive. Every call carries an
   * `Idempotency-Key` (the SDK makes one; pass `idempotencyKey` to choose it), so a retried call returns
   * the same execution and is charged once.
   *
   * @throws {PermissionDeniedError} (403 `plan_limit_reached`) when the month's executions are used up;
   *   {@link RateLimitError} (429) beyond 10 a minute; {@link NotFoundError} for an agent not yours.
   * @example
   * const stream = await client.agents.execute('agt_…', { input: 'Hello', stream: true });
   * for await (const event of stream) if (event.event === 'output.delta') process.stdout.write(event.data.text);
   */
  execute(
    id: string,
    params: ExecuteParams & { stream: true },
    options?: RequestOptions,
  ): Promise<ExecutionStream>;
  execute(
    id: string,
    params: ExecuteParams & { stream?: false },
    options?: RequestOptions,
  ): APIPromise<Execution>;
  execute(id: string, params: ExecuteParams, options?: RequestOptions): Promise<Execution | ExecutionStream> {
    const path = `/api/v1/agents/${encodeURIComponent(id)}/execute`;
    if (params.stream) {
      const opened: Promise<Stream<ExecutionEvent>> = this._client.stream<ExecutionEvent>({
        ...options,
        method: 'post',
        path,
        body: { input: params.input, stream: true },
        decode: decodeEvents(ExecutionEventSchemas),
      });
      return opened.then(executionStream);
    }
    return this._client.post<Execution>(path, {
      ...options,
      body: { input: params.input },
      schema: Execution,
    });
  }
}
