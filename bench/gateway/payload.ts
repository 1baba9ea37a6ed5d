/**
 * The one call bench/gateway.bench.ts makes every way: an agent's instructions and a short input, answered
 * by the mock upstream (bench/gateway/upstream.ts) with a fixed completion streamed in {@link DELTAS}.
 */

/** The model asked for: an OpenAI model id, so Fleece routes it to its OpenAI provider. */
export const MODEL = 'gpt-4o-mini';

/** The system message: the agent's instructions in Fleece, the first message of the direct call. */
export const INSTRUCTIONS = 'Answer briefly.';

/** The completion's content, as the deltas the mock streams it in. */
export const DELTAS = ['The export ', 'job stalls ', 'on page two.'] as const;

/** The whole completion, which every successful answer must carry. */
export const COMPLETION = DELTAS.join('');

/** The user input of call number `i` (each call differs, so nothing can be served from a cache). */
export function input(i: number): string {
  return `Summarise ticket ${i}: the export job stalls after the first page of results.`;
}
