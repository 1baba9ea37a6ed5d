import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  AGENT_ID,
  BASE_URL,
  flowBody,
  flowRunBody,
  problem,
  sse,
  until,
  useMsw,
} from '../../../testkit/src/index.js';
import { plain, runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };

const STEPS = [
  { name: 'draft', agentId: AGENT_ID, input: 'Draft a reply to: {{input}}' },
  { name: 'polish', agentId: AGENT_ID, input: 'Polish: {{steps.draft.output}}' },
];
const FLOW = flowBody({ steps: STEPS });
const RUN = flowRunBody();

/** The event stream of a run that ends as `final`. */
function runEvents(final: Record<string, unknown>): HttpResponse<string> {
  const events: [number, string, unknown][] = [
    [1, 'execution.started', { ...RUN, status: 'running', startedAt: RUN.createdAt }],
    [2, `execution.${final.status === 'succeeded' ? 'completed' : final.status}`, final],
    [3, 'done', { status: final.status }],
  ];
  return new HttpResponse(sse(events), { headers: { 'content-type': 'text/event-stream' } });
}

describe('fleece flows', () => {
  it('creates a flow from --step options (templates keep their colons) and prints it', async () => {
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/api/v1/flows`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(FLOW, { status: 201 });
      }),
    );
    const result = await runCli(
      [
        'flows',
        'create',
        '--name',
        'review',
        '--step',
        `draft:${AGENT_ID}:Draft a reply to: {{input}}`,
        '--step',
        `polish:${AGENT_ID}:Polish: {{steps.draft.output}}`,
      ],
      { env },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(body).toEqual({ name: 'review', steps: STEPS });
    expect(result.stdout).toContain(`id:          ${FLOW.id}`);
    expect(result.stdout).toContain(`  2. polish  ${AGENT_ID}  "Polish: {{steps.draft.output}}"`);
  });

  it('creates from a JSON file and shows the callback secret once, with a warning on stderr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleece-flows-'));
    try {
      const file = join(dir, 'flow.json');
      await writeFile(
        file,
        JSON.stringify({ name: 'cb', steps: STEPS, callbackUrl: 'https://example.com/h' }),
      );
      let body: unknown;
      server.use(
        http.post(`${BASE_URL}/api/v1/flows`, async ({ request }) => {
          body = await request.json();
          return HttpResponse.json(
            {
              ...FLOW,
              callbackUrl: 'https://example.com/h',
              hasCallbackSecret: true,
              callbackSecret: 'whsec_x',
            },
            { status: 201 },
          );
        }),
      );
      const result = await runCli(['flows', 'create', '--file', file, '--schedule', '0 6 * * *'], { env });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(body).toEqual({
        name: 'cb',
        steps: STEPS,
        callbackUrl: 'https://example.com/h',
        schedule: '0 6 * * *',
      });
      expect(result.stdout).toContain('callback secret: whsec_x\n');
      expect(result.stderr).toContain('not shown again');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed --step and a missing name with exit 2, before any request', async () => {
    const bad = await runCli(['flows', 'create', '--name', 'x', '--step', 'only-a-name'], { env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--step must be name:agent:template (the agent's id or name)");
    const noName = await runCli(['flows', 'create', '--step', `a:${AGENT_ID}:{{input}}`], { env });
    expect(noName.exitCode).toBe(2);
    expect(noName.stderr).toContain('a flow needs a name');
  });

  it('shows a 400 naming the step and the reference', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/flows`, () =>
        problem(400, 'validation_failed', {
          detail:
            'The flow is not valid: step "polish" refers to {{steps.nope.output}}, but the flow has no step named "nope".',
          errors: [{ path: 'steps[1].input', message: 'step "polish" refers to {{steps.nope.output}}' }],
        }),
      ),
    );
    const result = await runCli(['flows', 'create', '--name', 'x', '--step', `a:${AGENT_ID}:{{input}}`], {
      env,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('{{steps.nope.output}}');
    expect(result.stderr).toContain(
      'hint: Check the value of --step (`fleece flows create --help` says what each takes).\n',
    );
  });

  it('lists, gets and deletes flows', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/flows`, () =>
        HttpResponse.json({ data: [{ ...FLOW, schedule: '0 6 * * *' }], nextCursor: null }),
      ),
      http.get(`${BASE_URL}/api/v1/flows/:id`, () => HttpResponse.json(FLOW)),
      http.delete(`${BASE_URL}/api/v1/flows/:id`, () => new HttpResponse(null, { status: 204 })),
    );
    const list = await runCli(['flows', 'list'], { env });
    expect(list).toMatchObject({ exitCode: 0, stdout: `${FLOW.id}  review  2 steps  0 6 * * *\n` });
    const get = await runCli(['flows', 'get', FLOW.id, '--json'], { env });
    expect(JSON.parse(get.stdout)).toEqual(FLOW);
    const del = await runCli(['flows', 'delete', FLOW.id, '--yes'], { env });
    expect(del.exitCode).toBe(0);
    expect(del.stderr).toContain(`Deleted flow ${FLOW.id}`);
  });

  it('triggers a run and prints its id; input from stdin; 409 while running exits 1 with the reason', async () => {
    const inputs: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/${FLOW.id}/trigger`, async ({ request }) => {
        inputs.push(await request.json());
        return HttpResponse.json(RUN, { status: 202 });
      }),
      http.post(`${BASE_URL}/api/v1/flows/flw_busy/trigger`, () =>
        problem(409, 'flow_already_running', {
          detail: 'A run of this flow (exe_1) is queued or running.',
          executionId: 'exe_1',
        }),
      ),
    );
    const queued = await runCli(['flows', 'trigger', FLOW.id, '--input', 'Hello'], { env });
    expect(queued).toMatchObject({ exitCode: 0, stdout: `${RUN.id}\n` });
    const piped = await runCli(['flows', 'trigger', FLOW.id], { env, stdin: 'From stdin\n' });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(inputs).toEqual([{ input: 'Hello' }, { input: 'From stdin' }]);
    const busy = await runCli(['flows', 'trigger', 'flw_busy', '--input', 'x'], { env });
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toContain('queued or running');
    const none = await runCli(['flows', 'trigger', FLOW.id], { env });
    expect(none.exitCode).toBe(2);
  });

  it('--wait follows the run and prints its output; a failed run exits 1 naming the step', async () => {
    const done = { ...RUN, status: 'succeeded', output: 'Polished.', finishedAt: RUN.createdAt };
    const failed = {
      ...RUN,
      id: 'exe_zzzzzzzzzzzzzzzzzzzzzzzz',
      status: 'failed',
      error: { code: 'step_failed', step: 'polish', message: 'The flow run failed in step "polish".' },
    };
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/${FLOW.id}/trigger`, () => HttpResponse.json(RUN, { status: 202 })),
      http.post(`${BASE_URL}/api/v1/flows/flw_failing/trigger`, () =>
        HttpResponse.json({ ...RUN, id: failed.id }, { status: 202 }),
      ),
      http.get(`${BASE_URL}/api/v1/executions/${RUN.id}/events`, () => runEvents(done)),
      http.get(`${BASE_URL}/api/v1/executions/${failed.id}/events`, () => runEvents(failed)),
    );
    const ok = await runCli(['flows', 'trigger', FLOW.id, '--input', 'Hello', '--wait'], { env });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'Polished.\n' });
    const bad = await runCli(['flows', 'trigger', 'flw_failing', '--input', 'Hello', '--wait', '--json'], {
      env,
    });
    expect(bad.exitCode).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ status: 'failed', error: { step: 'polish' } });
    expect(bad.stderr).toContain('failed in step "polish"');
  });

  it('--wait on a terminal names the run and spins with its current step (step 1 of 2 (draft) running)', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const done = { ...RUN, status: 'succeeded', output: 'Polished.', finishedAt: RUN.createdAt };
    const step = {
      ...RUN,
      id: 'exe_step10000000000000000000',
      agentId: AGENT_ID,
      parentId: RUN.id,
      step: 'draft',
      status: 'running',
      model: 'mock',
      provider: 'mock',
      startedAt: RUN.createdAt,
    };
    let parents: (string | null)[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/${FLOW.id}/trigger`, () => HttpResponse.json(RUN, { status: 202 })),
      http.get(`${BASE_URL}/api/v1/flows/${FLOW.id}`, () => HttpResponse.json(FLOW)),
      http.get(`${BASE_URL}/api/v1/executions`, ({ request }) => {
        parents = [...parents, new URL(request.url).searchParams.get('parentId')];
        return HttpResponse.json({ data: [step], nextCursor: null });
      }),
      http.get(`${BASE_URL}/api/v1/executions/${RUN.id}/events`, () => {
        const encoder = new TextEncoder();
        const frame = (id: number, event: string, data: unknown) =>
          encoder.encode(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        const body = new ReadableStream({
          async start(controller) {
            controller.enqueue(frame(1, 'execution.started', { ...RUN, status: 'running' }));
            await held;
            controller.enqueue(frame(2, 'execution.completed', done));
            controller.enqueue(frame(3, 'done', { status: 'succeeded' }));
            controller.close();
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    let stderr = '';
    const run = runCli(['flows', 'trigger', FLOW.id, '--input', 'Hello', '--wait'], {
      env,
      tty: true,
      onStderr: (chunk) => {
        stderr += chunk;
      },
    });
    await until(() => plain(stderr).includes(`Run ${RUN.id}: step 1 of 2 (draft) running…`)).catch((e) => {
      throw new Error(`${e}: ${JSON.stringify(plain(stderr))}`);
    });
    expect(plain(stderr)).toContain(
      `Run ${RUN.id} queued: waiting for it to finish (Ctrl+C stops waiting; the run goes on)…`,
    );
    expect(parents[0]).toBe(RUN.id);
    release();
    const result = await run;
    expect(result).toMatchObject({ exitCode: 0, stdout: 'Polished.\n' });
  });

  it('Ctrl+C while waiting exits 130, saying the run goes on and the exact command that follows it', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/${FLOW.id}/trigger`, () => HttpResponse.json(RUN, { status: 202 })),
      http.get(`${BASE_URL}/api/v1/executions/${RUN.id}/events`, () => {
        const body = new ReadableStream({
          start(controller) {
            controller.enqueue(
              new TextEncoder().encode(
                `id: 1\nevent: execution.started\ndata: ${JSON.stringify({ ...RUN, status: 'running' })}\n\n`,
              ),
            );
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const controller = new AbortController();
    let stderr = '';
    const run = runCli(['flows', 'trigger', FLOW.id, '--input', 'Hello', '--wait', '--profile', 'work'], {
      env,
      signal: controller.signal,
      onStderr: (chunk) => {
        stderr += chunk;
      },
    });
    await until(() => stderr.includes('queued: waiting'));
    controller.abort(new Error('Interrupted'));
    const result = await run;
    expect(result).toMatchObject({
      exitCode: 130,
      stdout: '',
      stderr:
        `Run ${RUN.id} queued: waiting for it to finish (Ctrl+C stops waiting; the run goes on)…\n` +
        `Stopped waiting. Run ${RUN.id} goes on on the server.\n` +
        `hint: Follow it with \`fleece executions get ${RUN.id} --wait --profile work\`, or cancel it with \`fleece executions cancel ${RUN.id} --profile work\`.\n`,
    });
  });

  it('has --help examples for every subcommand', async () => {
    for (const sub of ['list', 'get', 'create', 'delete', 'trigger']) {
      const help = await runCli(['flows', sub, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain('Examples:');
    }
  });
});
