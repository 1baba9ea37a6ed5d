import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { loggerOptions } from '../../src/logger.js';
import { aiPlugin } from '../../src/modules/ai/plugin.js';
import { configPlugin } from '../../src/plugins/config.js';
import { LogCapture, TestClock, testConfig } from '../helpers/app.js';
import { drain, sseResponse } from './helpers.js';

const KEY = 'sk-live-KEY-MUST-NOT-LEAK-0123456789';
const PROMPT = 'PROMPT-MUST-NOT-LEAK: my salary is 123456';
const UPSTREAM_BODY = 'UPSTREAM-BODY-MUST-NOT-LEAK';
const OUTPUT = 'OUTPUT-MUST-NOT-LEAK';

/** No database: provider calls never touch it (the models service only keeps the handle). */
const noDatabase = fp(
  async (app) => {
    app.decorate('db', {} as Db);
  },
  { name: 'fleece-database' },
);

/** The app's logger, configuration and AI plugin: what a provider call runs inside. */
async function aiApp(logs: LogCapture): Promise<FastifyInstance> {
  const app = Fastify({ logger: { ...loggerOptions('info'), stream: logs } }) as unknown as FastifyInstance;
  await app.register(configPlugin, { config: testConfig({ OPENAI_API_KEY: KEY }), clock: new TestClock() });
  await app.register(noDatabase);
  await app.register(aiPlugin);
  await app.ready();
  return app;
}

describe('provider failures in the logs (claim C31)', () => {
  const server = setupServer();
  const logs = new LogCapture();
  let app: FastifyInstance;
  beforeAll(async () => {
    server.listen({ onUnhandledFrame: 'error' });
    app = await aiApp(logs);
  });
  afterEach(() => server.resetHandlers());
  afterAll(async () => {
    server.close();
    await app.close();
  });

  it('logs neither the key, nor the upstream error body, nor the prompt, nor the output', async () => {
    let calls = 0;
    server.use(
      http.post('https://api.openai.com/v1/chat/completions', ({ request }) => {
        calls++;
        if (calls <= 2) {
          return HttpResponse.json(
            {
              error: {
                message: `${UPSTREAM_BODY} for key ${KEY}`,
                type: 'requests',
                code: 'rate_limit_exceeded',
              },
            },
            { status: 429, headers: { 'retry-after-ms': '1' } },
          );
        }
        return sseResponse(
          [
            `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: OUTPUT }, finish_reason: null }] })}\n\n`,
            `data: ${JSON.stringify({ error: { message: `${UPSTREAM_BODY} mid-stream`, type: 'server_error' } })}\n\n`,
          ],
          request,
        );
      }),
    );
    const provider = app.ai.providers.get('openai')!;
    const { deltas, error } = await drain(
      provider.stream([{ role: 'user', content: PROMPT }], { model: 'gpt-4o-mini' }),
    );
    expect(deltas).toEqual([OUTPUT]);
    expect(error).toMatchObject({ code: 'provider_unavailable', attempts: 3 });
    // What the executions engine will do with a failure: log it.
    app.log.error({ err: error }, 'execution failed');

    const records = logs.records();
    expect(
      records.filter((r) => r.msg === 'AI provider call failed; retrying').map((r) => r.providerRetry),
    ).toEqual([
      { provider: 'openai', attempt: 1, code: 'provider_rate_limited', status: 429, delayMs: 1 },
      { provider: 'openai', attempt: 2, code: 'provider_rate_limited', status: 429, delayMs: 1 },
    ]);
    const failure = records.find((r) => r.msg === 'execution failed');
    expect((failure?.err as { message?: string } | undefined)?.message).toBe(
      'The openai provider is unavailable [provider_unavailable]',
    );
    for (const secret of [KEY, UPSTREAM_BODY, PROMPT, OUTPUT, 'salary']) {
      expect(logs.text).not.toContain(secret);
    }
  });
});
