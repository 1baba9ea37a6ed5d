import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };

const session = (id: string, current: boolean) => ({
  id,
  kind: current ? 'cli' : 'browser',
  method: current ? 'device' : 'github',
  clientId: current ? 'fleece-cli' : null,
  userAgent: current ? 'fleece-cli/0.1.0' : 'Firefox/140.0',
  ip: '198.51.100.4',
  createdAt: '2026-03-01T09:00:00.000Z',
  lastUsedAt: '2026-03-01T10:30:00.000Z',
  expiresAt: '2026-03-31T09:00:00.000Z',
  current,
});

/** Records the DELETEs the server receives. */
function revokeServer(): string[] {
  const calls: string[] = [];
  server.use(
    http.delete(`${BASE_URL}/api/v1/sessions/:id`, ({ params }) => {
      calls.push(`DELETE ${params.id}`);
      return params.id === 'ses_gone' ? problem(404, 'not_found') : new HttpResponse(null, { status: 204 });
    }),
    http.delete(`${BASE_URL}/api/v1/sessions`, () => {
      calls.push('DELETE others');
      return HttpResponse.json({ revoked: 2 });
    }),
  );
  return calls;
}

describe('fleece sessions', () => {
  it('lists sessions, marking the current one', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/sessions`, () =>
        HttpResponse.json({ data: [session('ses_cli', true), session('ses_web', false)], nextCursor: null }),
      ),
    );
    const result = await runCli(['sessions', 'list'], { env });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout:
        '* ses_cli\tcli\tdevice\t2026-03-01 10:30 UTC\t198.51.100.4\tfleece-cli/0.1.0\n' +
        '  ses_web\tbrowser\tgithub\t2026-03-01 10:30 UTC\t198.51.100.4\tFirefox/140.0\n',
    });
    const json = await runCli(['sessions', 'list', '--json'], { env });
    expect(JSON.parse(json.stdout).data).toHaveLength(2);
  });

  it('revokes one session after asking on a terminal', async () => {
    const calls = revokeServer();
    const result = await runCli(['sessions', 'revoke', 'ses_web'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: [true],
    });
    expect(result.exitCode).toBe(0);
    expect(result.asked).toEqual(['Revoke session ses_web? That browser or CLI will be signed out.']);
    expect(calls).toEqual(['DELETE ses_web']);
  });

  it('revokes every other session with --others --yes', async () => {
    const calls = revokeServer();
    const result = await runCli(['sessions', 'revoke', '--others', '--yes'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('✓ Revoked 2 other sessions.\n');
    expect(calls).toEqual(['DELETE others']);
  });

  it('without a terminal and --yes, exits 2 naming --yes and sends nothing', async () => {
    const calls = revokeServer();
    const result = await runCli(['sessions', 'revoke', '--others'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'hint: Pass --yes to revoke without asking: `fleece sessions revoke --others --yes`.\n',
    );
    expect(calls).toEqual([]);
  });

  it('exits 2 without a target, and 6 for a session that is not yours', async () => {
    revokeServer();
    expect((await runCli(['sessions', 'revoke'], { env })).exitCode).toBe(2);
    expect((await runCli(['sessions', 'revoke', 'ses_1', '--others', '--yes'], { env })).exitCode).toBe(2);
    expect((await runCli(['sessions', 'revoke', 'ses_gone', '--yes'], { env })).exitCode).toBe(6);
  });
});
