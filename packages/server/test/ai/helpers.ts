import { HttpResponse } from 'msw';
import { expect } from 'vitest';
import { ProviderError } from '../../src/modules/ai/providers/errors.js';
import type { ProviderStream } from '../../src/modules/ai/providers/types.js';

const encoder = new TextEncoder();

/** One piece of a scripted response body: bytes to send, a pause, a stall, or a broken connection. */
export type BodyStep = string | { waitMs: number } | 'stall' | 'reset';

/**
 * A response body that sends `steps` one network chunk at a time (a macrotask apart, as TCP segments
 * arrive), then closes; `'stall'` stops sending for good, `'reset'` fails the connection. Once `signal`
 * (the intercepted request's) aborts, nothing more is sent.
 */
export function scriptedBody(steps: BodyStep[], signal: AbortSignal): ReadableStream<Uint8Array> {
  const queue = [...steps];
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setImmediate(resolve));
      for (;;) {
        const step = signal.aborted ? 'stall' : queue.shift();
        if (step === undefined) {
          controller.close();
        } else if (step === 'stall') {
          // Never another byte. (Ending the mocked body after the client aborted would make msw close the
          // mocked socket under undici's aborted request, which trips an assertion inside undici.)
          await new Promise<never>(() => {});
        } else if (step === 'reset') {
          controller.error(new TypeError('terminated'));
        } else if (typeof step === 'object') {
          // Silence on the wire, then on with the script.
          await new Promise((resolve) => setTimeout(resolve, step.waitMs));
          continue;
        } else {
          controller.enqueue(encoder.encode(step));
        }
        return;
      }
    },
  });
}

/**
 * A `text/event-stream` response with a scripted body, chunked as real SSE servers send it. (Without the
 * chunked framing the body would end at socket close, and msw closing the mocked socket of an aborted
 * request would then complete a response undici has already aborted, which fails an assertion in undici.)
 */
export function sseResponse(steps: BodyStep[], request: Request, headers: Record<string, string> = {}) {
  return new HttpResponse(scriptedBody(steps, request.signal), {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'transfer-encoding': 'chunked',
      ...headers,
    },
  });
}

/** Resolves when `signal` aborts (for handlers that never answer). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Every delta of `stream`, and how it ended: the result, or the ProviderError it failed with. */
export async function drain(
  stream: ProviderStream,
): Promise<{ deltas: string[]; error: ProviderError | undefined }> {
  const deltas: string[] = [];
  try {
    for await (const delta of stream) deltas.push(delta);
    return { deltas, error: undefined };
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return { deltas, error: error as ProviderError };
  }
}

/** A retry policy and a recording `sleep`: no test waits on a real backoff. */
export function instantRetries(policy: Partial<{ maxAttempts: number; budgetMs: number }> = {}) {
  const delays: number[] = [];
  return {
    delays,
    retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 4_000, budgetMs: 15_000, ...policy },
    random: () => 0.5,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}
