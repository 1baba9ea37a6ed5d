/**
 * The mock OpenAI-compatible upstream of bench/gateway.bench.ts, run as a process of its own so that
 * neither the client nor a gateway shares its thread: `POST /v1/chat/completions` answers at once, with no
 * artificial delay, a fixed small completion, as one JSON `chat.completion` object or, with `stream: true`,
 * as Server-Sent Events in OpenAI's shape (a role chunk, one chunk per delta of `DELTAS` in
 * bench/gateway/payload.ts, a finish chunk, a usage chunk when `stream_options.include_usage` asks for
 * one, then `data: [DONE]`). Listens on
 * 127.0.0.1 on a free port, prints `{"url": "http://127.0.0.1:…/v1"}` as one line on stdout once ready,
 * and exits when stdin ends (so it never outlives the benchmark).
 */
import { createServer, type ServerResponse } from 'node:http';
import { COMPLETION, DELTAS, MODEL } from './payload.js';

const USAGE = { prompt_tokens: 24, completion_tokens: 9, total_tokens: 33 };

interface ChatRequest {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

function chunk(model: string, delta: object, finish: string | null): string {
  const body = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

function answer(res: ServerResponse, raw: string): void {
  let request: ChatRequest;
  try {
    request = JSON.parse(raw) as ChatRequest;
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad JSON"}}');
    return;
  }
  const model = request.model ?? MODEL;
  if (!request.stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: COMPLETION },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: USAGE,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(chunk(model, { role: 'assistant', content: '' }, null));
  for (const text of DELTAS) res.write(chunk(model, { content: text }, null));
  res.write(chunk(model, {}, 'stop'));
  if (request.stream_options?.include_usage) {
    res.write(
      `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: USAGE })}\n\n`,
    );
  }
  res.end('data: [DONE]\n\n');
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => answer(res, Buffer.concat(parts).toString('utf8')));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/v1` })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
