import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { agentBody, BASE_URL, executionBody, flowBody, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };

const agent = (id: string, name: string) => agentBody({ id, name, instructions: 'Summarise.' });
const SUMMARISER = agent('agt_summariser00000000000000', 'summariser');
const TWIN_A = agent('agt_twina0000000000000000000', 'twin');
const TWIN_B = agent('agt_twinb0000000000000000000', 'twin');

const FLOW = flowBody({ steps: [{ name: 'draft', agentId: SUMMARISER.id, input: '{{input}}' }] });

const execution = (input: string) =>
  executionBody({
    agentId: SUMMARISER.id,
    input,
    output: `Summary of ${input}`,
    usage: { inputTokens: 1, outputTokens: 1 },
    durationMs: 1,
    finishedAt: '2026-01-01T00:00:00.001Z',
  });

/** The agents list in two pages (a name on the second page is found too), and what each run sent. */
function agentsServer() {
  const inputs: unknown[] = [];
  const cursors: (string | null)[] = [];
  server.use(
    http.get(`${BASE_URL}/api/v1/agents`, ({ request }) => {
      const cursor = new URL(request.url).searchParams.get('cursor');
      cursors.push(cursor);
      return cursor === null
        ? HttpResponse.json({ data: [TWIN_A, TWIN_B], nextCursor: 'page2' })
        : HttpResponse.json({ data: [SUMMARISER], nextCursor: null });
    }),
    http.post(`${BASE_URL}/api/v1/agents/:id/execute`, async ({ request, params }) => {
      const body = (await request.json()) as { input: string };
      inputs.push({ id: params.id, ...body });
      return HttpResponse.json(execution(body.input), { status: 201 });
    }),
  );
  return { inputs, cursors };
}

describe('fleece agents run <id|name> [--input text | -]', () => {
  it('resolves an exact name through every page of the list, and takes --input', async () => {
    const { inputs, cursors } = agentsServer();
    const result = await runCli(['agents', 'run', 'summariser', '--input', 'the notes'], { env });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'Summary of the notes\n' });
    expect(cursors).toEqual([null, 'page2']);
    expect(inputs).toEqual([{ id: SUMMARISER.id, input: 'the notes' }]);
  });

  it('reads stdin for -, for --input -, and when no input is given and stdin is piped', async () => {
    const { inputs } = agentsServer();
    const dash = await runCli(['agents', 'run', SUMMARISER.id, '-'], { env, stdin: 'from a pipe\n' });
    const flag = await runCli(['agents', 'run', SUMMARISER.id, '--input', '-'], {
      env,
      stdin: 'flag pipe\n',
    });
    const bare = await runCli(['agents', 'run', SUMMARISER.id], { env, stdin: 'bare pipe' });
    const positional = await runCli(['agents', 'run', SUMMARISER.id, 'kept for scripts'], { env });
    for (const r of [dash, flag, bare, positional]) expect(r.exitCode, r.stderr).toBe(0);
    expect(inputs.map((i) => (i as { input: string }).input)).toEqual([
      'from a pipe',
      'flag pipe',
      'bare pipe',
      'kept for scripts',
    ]);
  });

  it('exits 2 before any request: no input on a terminal, an empty stdin, or two inputs', async () => {
    const { inputs, cursors } = agentsServer();
    const tty = await runCli(['agents', 'run', SUMMARISER.id], { env, stdin: 'tty' });
    expect(tty).toMatchObject({
      exitCode: 2,
      stderr:
        'error: The run needs an input, and there is no terminal to ask on.\n' +
        `hint: Pass --input <text>, or pipe it: \`echo "Hello" | fleece agents run ${SUMMARISER.id} -\`.\n`,
    });
    const empty = await runCli(['agents', 'run', SUMMARISER.id, '-'], { env });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('error: Nothing to send: standard input was empty.');
    const both = await runCli(['agents', 'run', SUMMARISER.id, 'a', '--input', 'b'], { env });
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('Give the input once');
    expect(inputs).toEqual([]);
    expect(cursors).toEqual([]);
  });

  it('exits 2 for a name several agents share, listing their ids; 6 for no such name', async () => {
    const { inputs } = agentsServer();
    const twin = await runCli(['agents', 'run', 'twin', '--input', 'x'], { env });
    expect(twin).toMatchObject({
      exitCode: 2,
      stderr:
        `error: 2 agents are named "twin": ${TWIN_A.id}, ${TWIN_B.id}.\n` +
        'hint: Pass the id of the agent you mean instead of its name.\n',
    });
    const typo = await runCli(['agents', 'run', 'sumariser', '--input', 'x'], { env });
    expect(typo).toMatchObject({
      exitCode: 6,
      stderr:
        'error: No agent is named "sumariser".\n' +
        "hint: Give the agent's id or exact name: `fleece agents list` shows them.\n",
    });
    expect(inputs).toEqual([]);
  });

  it('a 404 for an id says where agent ids and names are listed', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/agents/:id/execute`, () =>
        problem(404, 'not_found', { detail: 'No such agent.' }),
      ),
    );
    const result = await runCli(['agents', 'run', 'agt_missing', '--input', 'x'], { env });
    expect(result).toMatchObject({
      exitCode: 6,
      stderr:
        'error: No such agent.\n' +
        'hint: Check the agent id or name: `fleece agents list` shows them.\n' +
        'request id: req_not_found\n',
    });
  });
});

describe('fleece flows create|update --step name:<agent id or name>:template', () => {
  it('resolves agent names in --step with one listing (ids pass as they are), and refuses unknown or shared names', async () => {
    const { cursors } = agentsServer();
    const sent: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/flows`, async ({ request }) => {
        sent.push(await request.json());
        return HttpResponse.json(FLOW, { status: 201 });
      }),
      http.patch(`${BASE_URL}/api/v1/flows/:id`, async ({ request }) => {
        sent.push(await request.json());
        return HttpResponse.json(FLOW);
      }),
    );
    const created = await runCli(
      [
        'flows',
        'create',
        '--name',
        'review',
        '--step',
        'draft:summariser:Draft: {{input}}',
        '--step',
        `check:${TWIN_A.id}:Check {{steps.draft.output}}`,
        '--step',
        'again:summariser:{{steps.check.output}}',
      ],
      { env },
    );
    expect(created.exitCode, created.stderr).toBe(0);
    expect(cursors).toEqual([null, 'page2']);
    expect(sent).toEqual([
      {
        name: 'review',
        steps: [
          { name: 'draft', agentId: SUMMARISER.id, input: 'Draft: {{input}}' },
          { name: 'check', agentId: TWIN_A.id, input: 'Check {{steps.draft.output}}' },
          { name: 'again', agentId: SUMMARISER.id, input: '{{steps.check.output}}' },
        ],
      },
    ]);

    const updated = await runCli(['flows', 'update', FLOW.id, '--step', 'only:summariser:{{input}}'], {
      env,
    });
    expect(updated.exitCode, updated.stderr).toBe(0);
    expect(sent[1]).toEqual({ steps: [{ name: 'only', agentId: SUMMARISER.id, input: '{{input}}' }] });

    const typo = await runCli(['flows', 'create', '--name', 'x', '--step', 'a:sumariser:{{input}}'], { env });
    expect(typo).toMatchObject({
      exitCode: 6,
      stderr:
        'error: No agent is named "sumariser".\n' +
        "hint: Give the agent's id or exact name: `fleece agents list` shows them.\n",
    });
    const shared = await runCli(['flows', 'create', '--name', 'x', '--step', 'a:twin:{{input}}'], { env });
    expect(shared.exitCode).toBe(2);
    expect(shared.stderr).toContain(`error: 2 agents are named "twin": ${TWIN_A.id}, ${TWIN_B.id}.`);
    expect(sent).toHaveLength(2);
  });
});

describe('fleece agents delete and fleece flows delete', () => {
  function deleteServer() {
    const deleted: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/agents`, () =>
        HttpResponse.json({ data: [SUMMARISER], nextCursor: null }),
      ),
      http.get(`${BASE_URL}/api/v1/flows`, () => HttpResponse.json({ data: [FLOW], nextCursor: null })),
      http.delete(`${BASE_URL}/api/v1/agents/:id`, ({ params }) => {
        deleted.push(String(params.id));
        return new HttpResponse(null, { status: 204 });
      }),
      http.delete(`${BASE_URL}/api/v1/flows/:id`, ({ params }) => {
        deleted.push(String(params.id));
        return new HttpResponse(null, { status: 204 });
      }),
    );
    return deleted;
  }

  it('without a terminal and without --yes: exit 2 naming --yes, nothing sent', async () => {
    const deleted = deleteServer();
    const agents = await runCli(['agents', 'delete', 'summariser'], { env });
    expect(agents).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Not deleting agent summariser: confirmation is needed and there is no terminal to ask on.\n' +
        'hint: Pass --yes to delete without asking: `fleece agents delete summariser --yes`.\n',
    });
    const flows = await runCli(['flows', 'delete', FLOW.id], { env });
    expect(flows.exitCode).toBe(2);
    expect(flows.stderr).toContain(`\`fleece flows delete ${FLOW.id} --yes\``);
    expect(deleted).toEqual([]);
  });

  it('asks on a terminal (no keeps it, exit 1), and --yes deletes at once, by name', async () => {
    const deleted = deleteServer();
    const declined = await runCli(['agents', 'delete', 'summariser'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: [false],
    });
    expect(declined.exitCode).toBe(1);
    expect(declined.asked).toEqual([`Delete agent ${SUMMARISER.id}? Its executions stay.`]);
    expect(declined.stderr).toContain('Nothing was deleted.');
    expect(deleted).toEqual([]);
    const confirmed = await runCli(['flows', 'delete', 'review'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: [true],
    });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(confirmed.asked).toEqual([`Delete flow ${FLOW.id} and its schedule? Its runs stay.`]);
    const yes = await runCli(['agents', 'delete', 'summariser', '--yes'], { env });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(yes.stderr).toContain(`Deleted agent ${SUMMARISER.id}.`);
    expect(deleted).toEqual([FLOW.id, SUMMARISER.id]);
  });
});

describe('fleece flows update', () => {
  it('PATCHes only the fields given, by name; --no-schedule sends null; no field exits 2', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/flows`, () => HttpResponse.json({ data: [FLOW], nextCursor: null })),
      http.patch(`${BASE_URL}/api/v1/flows/${FLOW.id}`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(FLOW);
      }),
    );
    const set = await runCli(['flows', 'update', 'review', '--schedule', '0 6 * * 1-5', '--json'], { env });
    expect(set.exitCode, set.stderr).toBe(0);
    const unset = await runCli(['flows', 'update', FLOW.id, '--no-schedule'], { env });
    expect(unset.exitCode, unset.stderr).toBe(0);
    expect(bodies).toEqual([{ schedule: '0 6 * * 1-5' }, { schedule: null }]);
    const nothing = await runCli(['flows', 'update', FLOW.id], { env });
    expect(nothing).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Nothing to change: name at least one field.\n' +
        `hint: For example \`fleece flows update ${FLOW.id} --description "…"\`; \`fleece flows update ${FLOW.id} --help\` lists the fields.\n`,
    });
    const agentNothing = await runCli(['agents', 'update', SUMMARISER.id], { env });
    expect(agentNothing.exitCode).toBe(2);
    expect(agentNothing.stderr).toMatch(
      /\nhint: For example `fleece agents update agt_\w+ --description "…"`/,
    );
    expect(bodies).toHaveLength(2);
  });

  it('flows create --file that cannot be read exits 2 with one line and a hint', async () => {
    const result = await runCli(['flows', 'create', '--file', '/tmp/nope-fleece-missing.json'], { env });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: cannot read --file /tmp/nope-fleece-missing.json: no such file.\n' +
        'hint: Check the path (or pass --file - to read the JSON from standard input).\n',
    });
  });
});

describe('fleece executions list and get', () => {
  it('--agent takes a name, --flow, --parent, --status and --cursor go to the query, and the next cursor is printed', async () => {
    const searches: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/agents`, () =>
        HttpResponse.json({ data: [SUMMARISER], nextCursor: null }),
      ),
      http.get(`${BASE_URL}/api/v1/flows`, () => HttpResponse.json({ data: [FLOW], nextCursor: null })),
      http.get(`${BASE_URL}/api/v1/executions`, ({ request }) => {
        searches.push(new URL(request.url).search);
        return HttpResponse.json({ data: [execution('x')], nextCursor: 'c2' });
      }),
    );
    const byName = await runCli(['executions', 'list', '--agent', 'summariser', '--status', 'failed'], {
      env,
    });
    expect(byName.exitCode, byName.stderr).toBe(0);
    expect(byName.stderr).toContain('More executions exist: add --cursor c2 to see the next page.');
    const steps = await runCli(
      ['executions', 'list', '--flow', 'review', '--parent', 'exe_run', '--cursor', 'c2'],
      { env },
    );
    expect(steps.exitCode, steps.stderr).toBe(0);
    expect(searches).toEqual([
      `?limit=20&agentId=${SUMMARISER.id}&status=failed`,
      `?limit=20&flowId=${FLOW.id}&parentId=exe_run&cursor=c2`,
    ]);
  });

  it('a typo in --agent exits 6 instead of printing "No executions."; a bad --status or --parent exits 2', async () => {
    const searches: string[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/agents`, () =>
        HttpResponse.json({ data: [SUMMARISER], nextCursor: null }),
      ),
      http.get(`${BASE_URL}/api/v1/executions`, ({ request }) => {
        searches.push(new URL(request.url).search);
        return HttpResponse.json({ data: [], nextCursor: null });
      }),
    );
    const typo = await runCli(['executions', 'list', '--agent', 'sumariser'], { env });
    expect(typo.exitCode).toBe(6);
    expect(typo.stderr).toContain('error: No agent is named "sumariser".');
    const status = await runCli(['executions', 'list', '--status', 'weird'], { env });
    expect(status).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Invalid --status "weird".\nhint: Give one of: queued, running, succeeded, failed, cancelled.\n',
    });
    const parent = await runCli(['executions', 'list', '--parent', 'review'], { env });
    expect(parent.exitCode).toBe(2);
    expect(searches).toEqual([]);
  });

  it('get --wait follows a queued execution to its end; a failed flow run exits 1 pointing at its steps', async () => {
    const queued = { ...execution('x'), agentId: null, flowId: FLOW.id, status: 'queued', output: null };
    const failed = {
      ...queued,
      status: 'failed',
      error: { code: 'step_failed', step: 'draft', message: 'The flow run failed in step "draft".' },
    };
    server.use(
      http.get(`${BASE_URL}/api/v1/executions/:id`, () => HttpResponse.json(queued)),
      http.get(
        `${BASE_URL}/api/v1/executions/:id/events`,
        () =>
          new HttpResponse(
            `id: 1\nevent: execution.failed\ndata: ${JSON.stringify(failed)}\n\nid: 2\nevent: done\ndata: {"status":"failed"}\n\n`,
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      ),
    );
    const result = await runCli(['executions', 'get', queued.id, '--wait'], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('status:   failed (step_failed, step draft)');
    expect(result.stderr).toContain(
      `error: Execution ${queued.id} failed.\nhint: See its steps: \`fleece executions list --parent ${queued.id}\`.\n`,
    );
  });
});
