import { performance } from 'node:perf_hooks';
import { COMPLETION, DELTAS, INSTRUCTIONS, input, MODEL } from './payload.js';

/**
 * One way to make the benchmark's call: where the request goes, with which headers and body, and how a
 * successful answer is recognised.
 */
export interface CallPath {
  /** The request's URL (always `POST`). */
  url: string;
  headers: Record<string, string>;
  /** The JSON body of call number `i`, asking for a JSON answer or (`stream`) a streamed one. */
  body(i: number, stream: boolean): string;
  /** The status of a successful JSON answer. */
  created: number;
  /** Text of a streamed answer that shows the first content delta has arrived. */
  firstDelta: string;
  /** Text of a streamed answer that shows it completed. */
  completed: string;
}

/** The call made straight to an OpenAI-compatible server at `baseUrl` (`…/v1`). */
export function openaiPath(baseUrl: string, headers: Record<string, string> = {}): CallPath {
  return {
    url: `${baseUrl}/chat/completions`,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...headers },
    body: (i, stream) =>
      JSON.stringify({
        model: MODEL,
        messages: [
          { role: 'system', content: INSTRUCTIONS },
          { role: 'user', content: input(i) },
        ],
        // As Fleece asks its provider: usage in the last chunk.
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
    created: 200,
    firstDelta: `"content":${JSON.stringify(DELTAS[0])}`,
    completed: 'data: [DONE]',
  };
}

/**
 * The call through the Portkey gateway at `gateway`, to the OpenAI-compatible upstream at `upstream`
 * (`x-portkey-provider: openai`, `x-portkey-custom-host`).
 */
export function portkeyPath(gateway: string, upstream: string): CallPath {
  return openaiPath(`${gateway}/v1`, { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream });
}

/** The call as an execution of agent `agentId` on the Fleece server at `url`, with API key `key`. */
export function fleecePath(server: { url: string; key: string; agentId: string }): CallPath {
  return {
    url: `${server.url}/api/v1/agents/${server.agentId}/execute`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
    body: (i, stream) => JSON.stringify(stream ? { input: input(i), stream: true } : { input: input(i) }),
    created: 201,
    firstDelta: 'event: output.delta',
    completed: 'event: execution.completed',
  };
}

/**
 * Makes call number `i` on `path` as JSON and returns the time from sending the request to having read the
 * whole answer, in ms.
 *
 * @throws {Error} when the status is not `path.created` or the answer lacks the completion.
 */
export async function timeJson(path: CallPath, i: number): Promise<number> {
  const start = performance.now();
  const res = await fetch(path.url, { method: 'POST', headers: path.headers, body: path.body(i, false) });
  const text = await res.text();
  const elapsed = performance.now() - start;
  if (res.status !== path.created || !text.includes(COMPLETION)) {
    throw new Error(`${path.url} answered ${res.status}: ${text.slice(0, 300)}`);
  }
  return elapsed;
}

/**
 * Makes call number `i` on `path` as a stream and returns the time from sending the request to the arrival
 * of the first content delta, in ms; reads the stream to its end.
 *
 * @throws {Error} when the status is not 200, or the stream ends without a delta or without completing.
 */
export async function timeFirstDelta(path: CallPath, i: number): Promise<number> {
  const start = performance.now();
  const res = await fetch(path.url, {
    method: 'POST',
    headers: { ...path.headers, accept: 'text/event-stream' },
    body: path.body(i, true),
  });
  if (res.status !== 200 || !res.body)
    throw new Error(`${path.url} answered ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let text = '';
  let first = Number.NaN;
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    if (Number.isNaN(first) && text.includes(path.firstDelta)) first = performance.now() - start;
  }
  if (Number.isNaN(first) || !text.includes(path.completed)) {
    throw new Error(`${path.url} streamed no delta or did not complete: ${text.slice(0, 300)}`);
  }
  return first;
}
