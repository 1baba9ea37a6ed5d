import { DEFAULT_API_KEY_EXPIRY_DAYS, DEFAULT_API_KEY_SCOPES } from '@fleece/sdk';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { API_KEY_SECRET, apiKeyBody, BASE_URL, problem, useMsw } from '../../../testkit/src/index.js';
import { runCli } from '../helpers.js';

const server = useMsw();

/** Logged in through FLEECE_TOKEN (as after `fleece login`), on the msw server. */
const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };

const KEY = apiKeyBody({
  scopes: ['read', 'write', 'agents:execute', 'flows:trigger', 'audit:read', 'export'],
});
const SECRET = API_KEY_SECRET;

function createServer(
  respond: () => Response = () => HttpResponse.json({ ...KEY, key: SECRET }, { status: 201 }),
) {
  const bodies: unknown[] = [];
  server.use(
    http.post(`${BASE_URL}/api/v1/api-keys`, async ({ request }) => {
      bodies.push(await request.json());
      return respond();
    }),
  );
  return bodies;
}

describe('fleece keys create', () => {
  it('prints the key alone on stdout and warns on stderr that it is shown once', async () => {
    const bodies = createServer();
    const result = await runCli(['keys', 'create', '--name', 'ci', '--expires-in', '90d'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${SECRET}\n`);
    expect(result.stderr).toBe(
      '! This API key is shown only once and cannot be retrieved again: store it now (for example in your CI secrets).\n' +
        'Defaults applied (least privilege): scopes read (pass --scopes, such as --scopes read,agents:execute, for more).\n' +
        `Id:       ${KEY.id}\n` +
        'Name:     ci\n' +
        'Scopes:   read, write, agents:execute, flows:trigger, audit:read, export\n' +
        'Expires:  2026-04-01 00:00 UTC\n',
    );
    expect(bodies).toEqual([{ name: 'ci', expiresIn: 90 }]);
  });

  it('leaves the defaults to the contract (read only, 30 days) and says so; --expires-in never sends null', async () => {
    const bodies = createServer();
    const plainCreate = await runCli(['keys', 'create', '--name', 'ci'], { env });
    expect(plainCreate.exitCode).toBe(0);
    expect(plainCreate.stderr).toContain(
      `Defaults applied (least privilege): scopes ${DEFAULT_API_KEY_SCOPES.join(', ')} (pass --scopes, such as --scopes read,agents:execute, for more); expires in ${DEFAULT_API_KEY_EXPIRY_DAYS} days (pass --expires-in 90d, a date, or never).\n`,
    );
    const never = await runCli(
      ['keys', 'create', '--name', 'ci', '--expires-in', 'never', '--scopes', 'read,export'],
      {
        env,
      },
    );
    expect(never.exitCode).toBe(0);
    expect(never.stderr).not.toContain('Defaults applied');
    expect(bodies).toEqual([{ name: 'ci' }, { name: 'ci', scopes: ['read', 'export'], expiresIn: null }]);
    // --help states the same defaults.
    const help = await runCli(['keys', 'create', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(default: ${DEFAULT_API_KEY_SCOPES.join(',')})`);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(default: ${DEFAULT_API_KEY_EXPIRY_DAYS}d)`);
  });

  it('prints a stable JSON shape with --json, the warning still on stderr', async () => {
    createServer();
    const result = await runCli(['keys', 'create', '--name', 'ci', '--json'], { env });
    expect(JSON.parse(result.stdout)).toEqual({ ...KEY, key: SECRET });
    expect(result.stderr).toMatch(/shown only once/);
  });

  it.each([
    ['30', 30],
    ['365d', 365],
    ['2026-06-30', '2026-06-30T00:00:00Z'],
    ['2026-06-30T12:00:00+02:00', '2026-06-30T12:00:00+02:00'],
  ])('sends --expires-in %s as %j', async (flag, expiresIn) => {
    const bodies = createServer();
    await runCli(['keys', 'create', '--name', 'ci', '--expires-in', flag], { env });
    expect(bodies).toEqual([{ name: 'ci', expiresIn }]);
  });

  it('sends --scopes as a list, each once', async () => {
    const bodies = createServer();
    await runCli(['keys', 'create', '--name', 'ci', '--scopes', 'read, agents:execute,read'], { env });
    expect(bodies).toEqual([{ name: 'ci', scopes: ['read', 'agents:execute'] }]);
  });

  it.each([['0d'], ['366'], ['soon'], ['2026-13-01'], ['1w']])(
    'exits 2 for --expires-in %s, naming the flag, and sends nothing',
    async (flag) => {
      const bodies = createServer();
      const result = await runCli(['keys', 'create', '--name', 'ci', '--expires-in', flag], { env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toBe(
        `error: Invalid --expires-in ${JSON.stringify(flag)}.\n` +
          'hint: Give days from 1 to 365 (30d or 30), a future date or time such as 2027-06-30 or 2027-06-30T12:00:00Z, or never.\n',
      );
      expect(bodies).toEqual([]);
    },
  );

  it('exits 2 for an unknown scope, listing the valid ones', async () => {
    createServer();
    const result = await runCli(['keys', 'create', '--name', 'ci', '--scopes', 'read,root'], { env });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        'error: Unknown scope "root" in --scopes.\n' +
        'hint: Give a comma-separated list of: read, write, agents:execute, flows:trigger, audit:read, export.\n',
    });
  });

  it('exits 2 without --name', async () => {
    const result = await runCli(['keys', 'create'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("required option '--name <name>' not specified");
  });

  it('exits 4 at the plan limit, saying that upgrading lifts it', async () => {
    createServer(() =>
      problem(403, 'plan_limit_reached', {
        detail: 'The Free plan allows no API keys. Upgrade to a higher plan for more.',
        upgrade: true,
        limit: 'apiKeys',
        max: 0,
      }),
    );
    const result = await runCli(['keys', 'create', '--name', 'ci'], { env });
    expect(result).toMatchObject({
      exitCode: 4,
      stdout: '',
      stderr:
        'error: The Free plan allows no API keys. Upgrade to a higher plan for more.\n' +
        'hint: A higher plan lifts this limit: run `fleece billing upgrade` (on a server without billing an administrator sets plans: `fleece-server admin set-plan <email> <plan>`).\n' +
        'request id: req_plan_limit_reached\n',
    });
  });

  it('exits 3 without credentials', async () => {
    const result = await runCli(['keys', 'create', '--name', 'ci', '--server', BASE_URL]);
    expect(result.exitCode).toBe(3);
  });
});

describe('fleece keys list', () => {
  it('prints one tab-separated line per key, never a secret', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/api-keys`, () =>
        HttpResponse.json({
          data: [
            { ...KEY, scopes: ['read'], lastUsedAt: '2026-01-02T03:04:05.000Z', lastUsedIp: '192.0.2.1' },
            { ...KEY, id: 'key_second0000000000000000', name: 'old', expiresAt: null, status: 'active' },
          ],
          nextCursor: null,
        }),
      ),
    );
    const result = await runCli(['keys', 'list'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      `${KEY.id}\tci\tflc_AbCdEfGh…\tread\texpires 2026-04-01 00:00 UTC\tlast used 2026-01-02 03:04 UTC\n` +
        `key_second0000000000000000\told\tflc_AbCdEfGh…\t${KEY.scopes.join(',')}\texpires never\tnever used\n`,
    );
  });

  it('prints the page as JSON with --json, and says so when there are none', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/api-keys`, () => HttpResponse.json({ data: [KEY], nextCursor: null })),
    );
    const json = await runCli(['keys', 'list', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ data: [KEY], nextCursor: null });
    server.use(
      http.get(`${BASE_URL}/api/v1/api-keys`, () => HttpResponse.json({ data: [], nextCursor: null })),
    );
    const none = await runCli(['keys', 'list'], { env });
    expect(none).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: 'No API keys. Create one with `fleece keys create --name <name>`.\n',
    });
  });

  it('exits 2 for a --limit out of range', async () => {
    const result = await runCli(['keys', 'list', '--limit', '500'], { env });
    expect(result).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('Invalid --limit "500".') });
  });
});

describe('fleece keys revoke', () => {
  function revokeServer(status = 204) {
    const ids: string[] = [];
    server.use(
      http.delete(`${BASE_URL}/api/v1/api-keys/:id`, ({ params }) => {
        ids.push(String(params.id));
        return status === 204
          ? new HttpResponse(null, { status })
          : problem(status, 'not_found', { detail: 'No such API key.' });
      }),
    );
    return ids;
  }

  it('revokes with --yes, without asking', async () => {
    const ids = revokeServer();
    const result = await runCli(['keys', 'revoke', KEY.id, '--yes'], { env });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: `✓ Revoked API key ${KEY.id}.\n`,
      asked: [],
    });
    expect(ids).toEqual([KEY.id]);
  });

  it('without a terminal and without --yes, exits 2 naming --yes and sends nothing', async () => {
    const ids = revokeServer();
    const result = await runCli(['keys', 'revoke', KEY.id], { env });
    expect(result).toMatchObject({
      exitCode: 2,
      stderr:
        `error: Not revoking ${KEY.id}: confirmation is needed and there is no terminal to ask on.\n` +
        `hint: Pass --yes to revoke without asking: \`fleece keys revoke ${KEY.id} --yes\`.\n`,
      asked: [],
    });
    expect(ids).toEqual([]);
  });

  it('asks on a terminal, and revokes only when confirmed', async () => {
    const ids = revokeServer();
    const declined = await runCli(['keys', 'revoke', KEY.id], {
      env,
      stdin: 'tty',
      tty: true,
      answers: [false],
    });
    expect(declined).toMatchObject({
      exitCode: 1,
      asked: [`Revoke API key ${KEY.id}? Everything using it will be refused from now on.`],
    });
    expect(declined.stderr).toContain('Nothing was revoked.');
    expect(ids).toEqual([]);
    const confirmed = await runCli(['keys', 'revoke', KEY.id], {
      env,
      stdin: 'tty',
      tty: true,
      answers: [true],
    });
    expect(confirmed.exitCode).toBe(0);
    expect(ids).toEqual([KEY.id]);
  });

  it('exits 6 for a key that is not yours', async () => {
    revokeServer(404);
    const result = await runCli(['keys', 'revoke', 'key_other', '--yes'], { env });
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toMatch(/^error: No such API key\.\n/);
  });
});
