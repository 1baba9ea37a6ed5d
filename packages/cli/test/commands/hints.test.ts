import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };
const FLOW_ID = 'flw_0123456789abcdefghijklmn';

describe('hints and exit codes of server refusals', () => {
  it('a 400 validation_failed for a value passed exits 2 and names the flag from errors[]', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/agents`, () =>
        problem(400, 'validation_failed', {
          detail: 'The request is not valid: body.temperature: Too big: expected number to be <=2.',
          errors: [{ path: 'body.temperature', message: 'Too big: expected number to be <=2' }],
        }),
      ),
    );
    const result = await runCli(['agents', 'create', '--name', 'x', '--temperature', '7'], { env });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: The request is not valid: body.temperature: Too big: expected number to be <=2.\n' +
        'hint: Check the value of --temperature (`fleece agents create --help` says what each takes).\n' +
        'request id: req_validation_failed\n',
    });
  });

  it('maps query and camelCase paths to their flags, and a 400 without errors[] still exits 2', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/flows`, () =>
        problem(400, 'validation_failed', {
          detail: 'The request is not valid.',
          errors: [
            { path: 'body.scheduleInput', message: 'too long' },
            { path: 'body.steps.0.agentId', message: 'an agent id' },
          ],
        }),
      ),
      http.get(`${BASE_URL}/api/v1/agents/:id`, () => problem(400, 'bad_request', { detail: 'Bad.' })),
    );
    const flows = await runCli(['flows', 'create', '--name', 'x', '--step', 'a:agt_x:{{input}}'], { env });
    expect(flows.exitCode).toBe(2);
    expect(flows.stderr).toContain('hint: Check the value of --schedule-input, --step (');
    const get = await runCli(['agents', 'get', 'agt_x'], { env });
    expect(get.exitCode).toBe(2);
    expect(get.stderr).toContain(
      'hint: Check the values you passed (`fleece agents get --help` says what each takes).\n',
    );
  });

  it('an unknown model and a loopback callback URL exit 2 with a hint of their own', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/agents`, () =>
        problem(400, 'unknown_model', { detail: 'No model nope-model exists.' }),
      ),
      http.post(`${BASE_URL}/api/v1/flows`, () =>
        problem(400, 'invalid_callback_url', {
          detail: 'callbackUrl points to 127.0.0.1, this machine; callbacks go only to public addresses.',
          errors: [{ path: 'callbackUrl', message: 'points to 127.0.0.1, this machine' }],
        }),
      ),
    );
    const model = await runCli(['agents', 'create', '--name', 'x', '--model', 'nope-model'], { env });
    expect(model.exitCode).toBe(2);
    expect(model.stderr).toContain(
      'hint: Pass one of the models the server offers to --model: `GET /api/v1/models` lists them.\n',
    );
    const callback = await runCli(
      [
        'flows',
        'create',
        '--name',
        'x',
        '--step',
        'a:agt_x:{{input}}',
        '--callback-url',
        'http://127.0.0.1:9/h',
      ],
      { env },
    );
    expect(callback.exitCode).toBe(2);
    expect(callback.stderr).toContain(
      'hint: For local development the server can allow callbacks to this machine: start it with FLEECE_WEBHOOK_ALLOW_LOOPBACK=true (never in production).\n',
    );
  });

  it('account_pending_deletion has its own hint, not the generic permission one', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/agents`, () =>
        problem(403, 'account_pending_deletion', {
          detail:
            'This account is scheduled for deletion: nothing runs for it until the deletion is cancelled.',
        }),
      ),
    );
    const result = await runCli(['agents', 'list'], { env });
    expect(result).toMatchObject({
      exitCode: 4,
      stderr:
        'error: This account is scheduled for deletion: nothing runs for it until the deletion is cancelled.\n' +
        'hint: Keep the account with `fleece account delete --cancel`; until then nothing runs for it.\n' +
        'request id: req_account_pending_deletion\n',
    });
    expect(result.stderr).not.toContain('ask an administrator');
  });

  it('flow_already_running points at fleece executions cancel, not the HTTP route', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/flows/:id/trigger`, () =>
        problem(409, 'flow_already_running', {
          detail:
            'A run of this flow (exe_1) is queued or running. Wait for it to finish, or cancel it with POST /api/v1/executions/exe_1/cancel, then trigger again.',
          executionId: 'exe_1',
        }),
      ),
    );
    const result = await runCli(['flows', 'trigger', FLOW_ID, '--input', 'x'], { env });
    expect(result).toMatchObject({
      exitCode: 1,
      stderr:
        'error: A run of this flow (exe_1) is already queued or running.\n' +
        'hint: Wait for it to finish (`fleece executions get exe_1 --wait`), or cancel it with `fleece executions cancel exe_1`, then trigger again.\n' +
        'request id: req_flow_already_running\n',
    });
  });

  it('agent_in_use (409) names the flows and points at fleece flows update/delete, not the HTTP route', async () => {
    const agentId = 'agt_0123456789abcdefghijklmn';
    server.use(
      http.delete(`${BASE_URL}/api/v1/agents/:id`, () =>
        problem(409, 'agent_in_use', {
          detail: `Agent ${agentId} is used by flow review (${FLOW_ID}). Change their steps to another agent (PATCH /api/v1/flows/:id) or delete those flows, then delete the agent.`,
          flows: [{ id: FLOW_ID, name: 'review' }],
        }),
      ),
    );
    const result = await runCli(['agents', 'delete', agentId, '--yes'], { env });
    expect(result).toMatchObject({
      exitCode: 1,
      stderr:
        `error: Agent ${agentId} is used by flow review (${FLOW_ID}).\n` +
        `hint: Point those steps at another agent (\`fleece flows update ${FLOW_ID} --step …\`) or delete the flows (\`fleece flows delete ${FLOW_ID}\`), then delete the agent.\n` +
        'request id: req_agent_in_use\n',
    });
  });

  it('account delete --confirm with the wrong address prints a hint line', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, () =>
        Response.json({
          user: {
            id: 'usr_1',
            email: 'ada@example.com',
            name: null,
            role: 'user',
            status: 'active',
            emailVerified: true,
            createdAt: '2026-01-01T00:00:00.000Z',
          },
          plan: { id: 'free', name: 'Free' },
          entitlements: {
            apiKeys: 1,
            agents: 1,
            executionsPerMonth: 100,
            historyRetentionDays: 7,
            premiumModels: false,
            apiBurstPerMinute: 60,
            apiPerDay: 1000,
          },
          usage: { activeSessions: 1 },
        }),
      ),
    );
    const result = await runCli(['account', 'delete', '--yes', '--confirm', 'wrong@example.com'], {
      env: { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      "error: --confirm does not match the account's email address (ada@example.com); nothing was deleted.\n" +
        'hint: Pass the email address of the account you are logged in as (`fleece whoami` shows it) to --confirm.\n',
    );
  });
});
