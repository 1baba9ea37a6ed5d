import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, problem, useMsw } from '../../../testkit/src/index.js';
import { storeCredentials } from '../credentials.js';
import { oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();

describe('fleece whoami', () => {
  it('prints the email of the stored login, sending its access token', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    let authorization: string | null = null;
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json(meBody());
      }),
    );
    const result = await runCli(['whoami', '--server', BASE_URL], { configHome: home });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'ada@example.com\n', stderr: '' });
    expect(authorization).toBe('Bearer at_1');
  });

  it('prints a stable JSON shape with --json', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => HttpResponse.json(meBody())));
    const result = await runCli(['whoami', '--server', BASE_URL, '--json'], { configHome: home });
    expect(JSON.parse(result.stdout)).toEqual({
      server: BASE_URL,
      profile: 'default',
      user: { id: 'usr_123', email: 'ada@example.com', name: 'Ada Lovelace', role: 'user' },
      plan: { id: 'pro', name: 'Pro' },
    });
  });

  it('uses FLEECE_API_KEY over the stored login', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    let authorization: string | null = null;
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json(meBody());
      }),
    );
    const result = await runCli(['whoami'], {
      configHome: home,
      env: { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL },
    });
    expect(result.exitCode).toBe(0);
    expect(authorization).toBe('Bearer flc_ci_key');
  });

  it('exits 3 without credentials, saying how to log in', async () => {
    const result = await runCli(['whoami', '--server', BASE_URL]);
    expect(result).toMatchObject({
      exitCode: 3,
      stdout: '',
      stderr:
        'error: Not logged in to http://fleece.test.\n' +
        'hint: Run `fleece login --server http://fleece.test` to log in, or set FLEECE_API_KEY (CI, scripts).\n',
    });
  });

  it('exits 3 when the server refuses FLEECE_API_KEY, naming the variable', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(401, 'unauthenticated')));
    const result = await runCli(['whoami'], {
      env: { FLEECE_API_KEY: 'flc_revoked', FLEECE_BASE_URL: BASE_URL },
    });
    expect(result).toMatchObject({
      exitCode: 3,
      stderr:
        'error: FLEECE_API_KEY was refused by http://fleece.test.\n' +
        'hint: Check or replace the value of FLEECE_API_KEY.\n' +
        'request id: req_unauthenticated\n',
    });
  });

  it.each([
    [403, 'forbidden', 4],
    [404, 'not_found', 6],
    [429, 'rate_limited', 5],
    [500, 'internal', 1],
  ])('exits with the documented code for HTTP %i', async (status, code, exitCode) => {
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(status, code, {}, { 'retry-after': '99' })));
    const result = await runCli(['whoami'], { env: { FLEECE_API_KEY: 'flc_x', FLEECE_BASE_URL: BASE_URL } });
    expect(result.exitCode).toBe(exitCode);
    expect(result.stderr).toMatch(new RegExp(`request id: req_${code}\\n$`));
  });

  it('exits 4 for a plan limit and says that upgrading lifts it', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, () =>
        problem(403, 'plan_limit_reached', { detail: 'The Free plan allows 1 agent.', upgrade: true }),
      ),
    );
    const result = await runCli(['whoami'], { env: { FLEECE_API_KEY: 'flc_x', FLEECE_BASE_URL: BASE_URL } });
    expect(result).toMatchObject({
      exitCode: 4,
      stderr:
        'error: The Free plan allows 1 agent.\n' +
        'hint: A higher plan lifts this limit: run `fleece billing upgrade` (on a server without billing an administrator sets plans: `fleece-server admin set-plan <email> <plan>`).\n' +
        'request id: req_plan_limit_reached\n',
    });
  });
});
