import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { problem, runCli, SERVER } from '../helpers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: SERVER };

const AGENT = {
  id: 'agt_0123456789abcdefghijklmn',
  name: 'triage',
  description: '',
  instructions: 'Label the issue.',
  model: null,
  temperature: 0.2,
  maxOutputTokens: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

const EXECUTION = {
  id: 'exe_0123456789abcdefghijklmn',
  agentId: AGENT.id,
  flowId: null,
  parentId: null,
  step: null,
  status: 'succeeded',
  model: 'mock',
  provider: 'mock',
  input: 'Hello',
  output: 'Hi there.',
  usage: { inputTokens: 9, outputTokens: 3 },
  finishReason: 'stop',
  error: null,
  durationMs: 12,
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:00.012Z',
};

describe('fleece agents', () => {
  it('creates an agent from the options, with numbers parsed', async () => {
    let body: unknown;
    server.use(
      http.post(`${SERVER}/api/v1/agents`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(AGENT, { status: 201 });
      }),
    );
    const result = await runCli(
      [
        'agents',
        'create',
        '--name',
        'triage',
        '--instructions',
        'Label the issue.',
        '--temperature',
        '0.2',
        '--json',
      ],
      { env },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(body).toEqual({ name: 'triage', instructions: 'Label the issue.', temperature: 0.2 });
    expect(JSON.parse(result.stdout)).toEqual(AGENT);
  });

  it('lists agents one per line', async () => {
    server.use(
      http.get(`${SERVER}/api/v1/agents`, () => HttpResponse.json({ data: [AGENT], nextCursor: null })),
    );
    const result = await runCli(['agents', 'list'], { env });
    expect(result).toMatchObject({ exitCode: 0, stdout: `${AGENT.id}  triage  (default model)\n` });
  });

  it('runs an agent and prints its output; a missing agent exits 6 (not found)', async () => {
    let input: unknown;
    server.use(
      http.post(`${SERVER}/api/v1/agents/${AGENT.id}/execute`, async ({ request }) => {
        input = await request.json();
        return HttpResponse.json(EXECUTION, { status: 201 });
      }),
      http.post(`${SERVER}/api/v1/agents/agt_missing/execute`, () => problem(404, 'not_found')),
    );
    const ok = await runCli(['agents', 'run', AGENT.id, 'Hello'], { env });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'Hi there.\n' });
    expect(input).toEqual({ input: 'Hello' });
    const missing = await runCli(['agents', 'run', 'agt_missing', 'Hello'], { env });
    expect(missing.exitCode).toBe(6);
  });

  it('streams the output with --stream', async () => {
    const events = [
      [
        1,
        'execution.started',
        { ...EXECUTION, status: 'running', output: null, usage: null, finishReason: null },
      ],
      [2, 'output.delta', { text: 'Hi ' }],
      [3, 'output.delta', { text: 'there.' }],
      [4, 'execution.completed', EXECUTION],
      [5, 'done', { status: 'succeeded' }],
    ] as const;
    server.use(
      http.post(
        `${SERVER}/api/v1/agents/${AGENT.id}/execute`,
        () =>
          new HttpResponse(
            events
              .map(([id, event, data]) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
              .join(''),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      ),
    );
    const result = await runCli(['agents', 'run', AGENT.id, 'Hello', '--stream'], { env });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'Hi there.\n' });
  });
});

describe('fleece executions', () => {
  it('lists with filters, shows one, and cancels one', async () => {
    let search = '';
    server.use(
      http.get(`${SERVER}/api/v1/executions`, ({ request }) => {
        search = new URL(request.url).search;
        return HttpResponse.json({ data: [EXECUTION], nextCursor: null });
      }),
      http.get(`${SERVER}/api/v1/executions/:id`, () => HttpResponse.json(EXECUTION)),
      http.post(`${SERVER}/api/v1/executions/:id/cancel`, () =>
        HttpResponse.json({ ...EXECUTION, status: 'cancelled' }),
      ),
    );
    const list = await runCli(['executions', 'list', '--agent', AGENT.id, '--status', 'succeeded'], { env });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(search).toBe(`?limit=20&agentId=${AGENT.id}&status=succeeded`);
    expect(list.stdout).toBe(`${EXECUTION.id}  succeeded  ${AGENT.id}  2026-01-01T00:00:00.000Z\n`);
    const get = await runCli(['executions', 'get', EXECUTION.id, '--json'], { env });
    expect(JSON.parse(get.stdout)).toEqual(EXECUTION);
    const cancel = await runCli(['executions', 'cancel', EXECUTION.id], { env });
    expect(cancel.stdout).toContain('status:   cancelled');
  });
});
