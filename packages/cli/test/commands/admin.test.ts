import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, problem, useMsw } from '../../../testkit/src/index.js';
import { parseLimits } from '../../src/commands/admin/grant.js';
import { runCli } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };

const user = (id: string, email: string, plan = 'free', extra: Record<string, unknown> = {}) => ({
  id,
  email,
  name: null,
  role: 'user',
  status: 'active',
  emailVerified: true,
  createdAt: '2026-03-01T09:00:00.000Z',
  plan,
  limits: null,
  ...extra,
});

/** An admin API with `accounts`; records the queries of GET and the bodies of PATCH. */
function adminServer(accounts: ReturnType<typeof user>[]) {
  const calls: string[] = [];
  server.use(
    http.get(`${BASE_URL}/api/v1/admin/users`, ({ request }) => {
      const query = new URL(request.url).searchParams;
      calls.push(`GET ${query.toString()}`);
      const q = query.get('q')?.toLowerCase();
      const data = accounts.filter((a) => !q || a.id === q || a.email.includes(q));
      return HttpResponse.json({ data, nextCursor: null });
    }),
    http.patch(`${BASE_URL}/api/v1/admin/users/:id`, async ({ params, request }) => {
      const body = (await request.json()) as Record<string, unknown>;
      calls.push(`PATCH ${params.id} ${JSON.stringify(body)}`);
      const account = accounts.find((a) => a.id === params.id);
      if (!account) return problem(404, 'not_found');
      Object.assign(account, body);
      return HttpResponse.json(account);
    }),
  );
  return calls;
}

describe('fleece admin users', () => {
  it('lists accounts as tab-separated lines, with the filters sent as the query', async () => {
    const calls = adminServer([
      user('usr_1', 'ada@example.com', 'pro', { name: 'Ada', role: 'admin' }),
      user('usr_2', 'bob@example.com'),
    ]);
    const result = await runCli(['admin', 'users', 'list', '--search', 'example.com', '--plan', 'pro'], {
      env,
    });
    expect(result).toMatchObject({
      exitCode: 0,
      stdout:
        'usr_1\tada@example.com\tpro\tadmin\tactive\tAda\nusr_2\tbob@example.com\tfree\tuser\tactive\t-\n',
    });
    expect(calls).toEqual(['GET limit=20&q=example.com&plan=pro']);
    const json = await runCli(['admin', 'users', 'list', '--json'], { env });
    expect(JSON.parse(json.stdout).data).toHaveLength(2);
  });

  it('refuses a bad filter with exit 2 before any request', async () => {
    const calls = adminServer([]);
    const result = await runCli(['admin', 'users', 'list', '--plan', 'gold'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--plan must be one of free, pro, business, enterprise (got "gold").');
    expect(calls).toEqual([]);
  });

  it('sets a plan by email address, through the admin API', async () => {
    const calls = adminServer([user('usr_2', 'bob@example.com')]);
    const result = await runCli(['admin', 'users', 'set-plan', 'Bob@Example.com', 'pro'], { env });
    expect(result).toMatchObject({
      exitCode: 0,
      stderr: '✓ bob@example.com (usr_2) is now on the Pro plan (was Free).\n',
    });
    expect(calls).toEqual(['GET q=Bob%40Example.com&limit=100', 'PATCH usr_2 {"plan":"pro"}']);
  });

  it('says what to do for an unknown account, a wrong plan, or "admin" as a plan', async () => {
    adminServer([]);
    const unknown = await runCli(['admin', 'users', 'set-plan', 'nobody@example.com', 'pro'], { env });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('No account uses nobody@example.com.');
    expect(unknown.stderr).toContain('An account exists once its owner has signed in');
    const plan = await runCli(['admin', 'users', 'set-plan', 'bob@example.com', 'gold'], { env });
    expect(plan.exitCode).toBe(2);
    expect(plan.stderr).toContain('The plan must be one of free, pro, business, enterprise (got "gold").');
    const admin = await runCli(['admin', 'users', 'set-plan', 'bob@example.com', 'admin'], { env });
    expect(admin.exitCode).toBe(2);
    expect(admin.stderr).toContain('"admin" is a role, not a plan.');
    expect(admin.stderr).toContain('FLEECE_ADMIN_EMAILS');
  });

  it('exits 4 when the login is not an admin (the API answers 403)', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/admin/users`, () => problem(403, 'forbidden')));
    const result = await runCli(['admin', 'users', 'list'], { env });
    expect(result.exitCode).toBe(4);
  });

  it('grants Enterprise limit overrides, and resets them', async () => {
    const calls = adminServer([user('usr_3', 'cto@example.com', 'enterprise')]);
    const granted = await runCli(
      [
        'admin',
        'users',
        'grant',
        'cto@example.com',
        'apiPerDay=2000000',
        'premiumModels=true',
        'apiBurstPerMinute=none',
      ],
      { env },
    );
    expect(granted).toMatchObject({
      exitCode: 0,
      stderr:
        '✓ cto@example.com (usr_3) now has: premiumModels=true apiBurstPerMinute=none apiPerDay=2000000.\n',
    });
    expect(calls.at(-1)).toBe(
      'PATCH usr_3 {"limits":{"apiPerDay":2000000,"premiumModels":true,"apiBurstPerMinute":null}}',
    );
    const reset = await runCli(['admin', 'users', 'grant', 'usr_3', '--reset'], { env });
    expect(reset).toMatchObject({
      exitCode: 0,
      stderr: "✓ cto@example.com (usr_3) has the Enterprise plan's own limits.\n",
    });
    expect(calls.at(-1)).toBe('PATCH usr_3 {"limits":null}');
  });

  it('refuses limits for an account not on Enterprise, naming the command that changes its plan', async () => {
    const calls = adminServer([user('usr_2', 'bob@example.com', 'pro')]);
    const result = await runCli(['admin', 'users', 'grant', 'bob@example.com', 'agents=50'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'Limit overrides apply only to the Enterprise plan; bob@example.com is on Pro.',
    );
    expect(result.stderr).toContain('fleece admin users set-plan bob@example.com enterprise');
    expect(calls.filter((c) => c.startsWith('PATCH'))).toEqual([]);
  });

  it('says how to become an admin when asked to grant admin rights', async () => {
    const calls = adminServer([]);
    const result = await runCli(['admin', 'users', 'grant', 'bob@example.com', 'admin'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Admin rights are not granted over the API.');
    expect(result.stderr).toContain("list the address in the server's FLEECE_ADMIN_EMAILS");
    expect(result.stderr).toContain('fleece-server admin grant <email>');
    expect(calls).toEqual([]);
  });

  it.each(['admin', 'admin users', 'admin users list', 'admin users set-plan', 'admin users grant'])(
    'has --help with examples for `fleece %s`',
    async (command) => {
      const result = await runCli([...command.split(' '), '--help']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`Usage: fleece ${command}`);
      expect(result.stdout).toMatch(/\nExamples:\n {2}\$ \S/);
    },
  );

  it('parses limits strictly', () => {
    expect(
      parseLimits(['agents=0', 'historyRetentionDays=90', 'premiumModels=false', 'apiPerDay=none']),
    ).toEqual({
      agents: 0,
      historyRetentionDays: 90,
      premiumModels: false,
      apiPerDay: null,
    });
    expect(() => parseLimits(['historyRetentionDays=0'])).toThrow(
      'historyRetentionDays must be a whole number (1 or more) (got "historyRetentionDays=0").',
    );
    expect(() => parseLimits(['agents=none'])).toThrow(
      'agents must be a whole number (0 or more) (got "agents=none").',
    );
    expect(() => parseLimits(['premiumModels=yes'])).toThrow('premiumModels must be true or false');
    expect(() => parseLimits(['seats=5'])).toThrow('Unknown limit "seats".');
    expect(() => parseLimits(['agents=1.5'])).toThrow('agents must be a whole number');
  });
});
