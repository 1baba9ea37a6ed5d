import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, healthBody, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_API_KEY: 'flc_ci_key', FLEECE_BASE_URL: BASE_URL };

describe('a wrong server', () => {
  it('a 404 that is not a Fleece problem says "This is not a Fleece server at <url>" (exit 1), never "Not found"', async () => {
    server.use(
      http.get(
        `${BASE_URL}/api/v1/me`,
        () => new HttpResponse('<h1>404</h1>', { status: 404, headers: { 'content-type': 'text/html' } }),
      ),
    );
    const result = await runCli(['whoami'], { env });
    expect(result.exitCode).toBe(1);
    const [error, hint, requestId, rest] = result.stderr.split('\n');
    expect(error).toBe(
      'error: This is not a Fleece server at http://fleece.test: it answered without a Fleece problem or health report (another web app may be on that port).',
    );
    expect(hint).toBe(
      "hint: Check --server and FLEECE_BASE_URL: give the Fleece server's address, such as http://127.0.0.1:3000 (`fleece doctor` checks it).",
    );
    expect(requestId).toMatch(/^request id: req_[0-9a-f]{24}$/);
    expect(rest).toBe('');
  });

  it("a Fleece 404 stays a not-found (exit 6) with the command's hint", async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/agents/agt_gone`, () =>
        problem(404, 'not_found', { detail: 'No such agent.' }),
      ),
    );
    const result = await runCli(['agents', 'get', 'agt_gone'], { env });
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toContain('error: No such agent.\n');
  });

  it('FLEECE_BASE_URL ending in /api names the address without it', async () => {
    server.use(http.get(`${BASE_URL}/api/api/v1/me`, () => problem(404, 'not_found')));
    const result = await runCli(['whoami'], { env: { ...env, FLEECE_BASE_URL: `${BASE_URL}/api/` } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: This is not a Fleece server at http:\/\/fleece\.test\/api: the address ends in \/api, the API's path, not the server's\.\nhint: Give the server's address without \/api: --server http:\/\/fleece\.test \(or FLEECE_BASE_URL=http:\/\/fleece\.test\)\.\n/,
    );
  });

  it('regression: --server ending in /api with no credential for it says so, not "log in to …/api"', async () => {
    const result = await runCli(['whoami', '--server', `${BASE_URL}/api`], { env: { FLEECE_API_KEY: '' } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: This is not a Fleece server at http:\/\/fleece\.test\/api: the address ends in \/api, the API's path, not the server's\.\nhint: Give the server's address without \/api: --server http:\/\/fleece\.test \(or FLEECE_BASE_URL=http:\/\/fleece\.test\)\.\n/,
    );
    expect(result.stderr).not.toContain('fleece login');
  });

  it('fleece health: a 200 whose body lacks service "fleece" is not a Fleece server', async () => {
    const { service: _, ...withoutService } = healthBody('ok');
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json(withoutService)));
    const result = await runCli(['health', '--server', BASE_URL]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: This is not a Fleece server at http:\/\/fleece\.test: /);
  });
});
