import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  agentBody,
  BASE_URL,
  executionBody,
  executionEvents,
  executionHandlers,
  problem,
  sse,
  useMsw,
} from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };

const AGENT = agentBody({ temperature: 0.2 });

const EXECUTION = executionBody();

describe('fleece agents', () => {
  it('creates an agent from the options, with numbers parsed', async () => {
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/agents`, async ({ request }) => {
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
      http.get(`${BASE_URL}/api/v1/agents`, () => HttpResponse.json({ data: [AGENT], nextCursor: null })),
    );
    const result = await runCli(['agents', 'list'], { env });
    expect(result).toMatchObject({ exitCode: 0, stdout: `${AGENT.id}  triage  (default model)\n` });
  });

  it('runs an agent and prints its output; a missing agent exits 6 (not found)', async () => {
    let input: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/agents/${AGENT.id}/execute`, async ({ request }) => {
        input = await request.json();
        return HttpResponse.json(EXECUTION, { status: 201 });
      }),
      http.post(`${BASE_URL}/api/v1/agents/agt_missing/execute`, () => problem(404, 'not_found')),
    );
    const ok = await runCli(['agents', 'run', AGENT.id, 'Hello'], { env });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'Hi there.\n' });
    expect(input).toEqual({ input: 'Hello' });
    const missing = await runCli(['agents', 'run', 'agt_missing', 'Hello'], { env });
    expect(missing.exitCode).toBe(6);
  });

  it('streams the output with --stream', async () => {
    server.use(
      http.post(
        `${BASE_URL}/api/v1/agents/${AGENT.id}/execute`,
        () => new HttpResponse(sse(executionEvents()), { headers: { 'content-type': 'text/event-stream' } }),
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
      ...executionHandlers(EXECUTION, (query) => {
        search = query;
      }),
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
