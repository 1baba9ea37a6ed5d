import { describe, expect, it } from 'vitest';
import { type RealServer, signInWithMagicLink } from '../../../testkit/src/index.js';
import { runFleece, useRealServer } from './harness.js';

let server: RealServer;
let home: string;
/** The environment of a CLI logged in as the admin (listed in FLEECE_ADMIN_EMAILS), on Free. */
let env: Record<string, string>;

useRealServer({ signIn: { email: 'ops@example.test', plan: 'free' } }, (setup) => {
  ({ server, home, env } = setup);
});

describe('fleece admin users against a real server (PGlite), with the built binary', {
  timeout: 90_000,
}, () => {
  it('takes a newcomer to Pro and an API key without a restart: set-plan, then keys create', async () => {
    // Free allows no API keys.
    const refused = await runFleece(['keys', 'create', '--name', 'ci'], { home, env });
    expect(refused.code).toBe(4);

    const upgraded = await runFleece(['admin', 'users', 'set-plan', 'ops@example.test', 'pro'], {
      home,
      env,
    });
    expect(upgraded).toMatchObject({ code: 0, stdout: '' });
    expect(upgraded.stderr).toMatch(
      /^✓ ops@example\.test \(usr_\w+\) is now on the Pro plan \(was Free\)\.\n$/,
    );

    const created = await runFleece(['keys', 'create', '--name', 'ci', '--json'], { home, env });
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const whoami = await runFleece(['whoami'], {
      home,
      env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: server.url },
    });
    expect(whoami).toMatchObject({ code: 0, stdout: 'ops@example.test\n' });

    // The admin API refuses API keys: exit 4.
    const byKey = await runFleece(['admin', 'users', 'list'], {
      home,
      env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: server.url },
    });
    expect(byKey.code).toBe(4);
  });

  it('lists and finds accounts, and grants Enterprise limits', async () => {
    await signInWithMagicLink(server, 'newbie@example.test');
    const listed = await runFleece(['admin', 'users', 'list', '--search', 'newbie'], { home, env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^usr_\w+\tnewbie@example\.test\tfree\tuser\tactive\t-\n$/);

    const admins = await runFleece(['admin', 'users', 'list', '--role', 'admin', '--json'], { home, env });
    const page = JSON.parse(admins.stdout) as { data: { email: string }[] };
    expect(page.data.map((u) => u.email)).toEqual(['ops@example.test']);

    expect(
      (await runFleece(['admin', 'users', 'set-plan', 'newbie@example.test', 'enterprise'], { home, env }))
        .code,
    ).toBe(0);
    const granted = await runFleece(
      ['admin', 'users', 'grant', 'newbie@example.test', 'agents=500', '--json'],
      {
        home,
        env,
      },
    );
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ plan: 'enterprise', limits: { agents: 500 } });

    const unknown = await runFleece(['admin', 'users', 'set-plan', 'ghost@example.test', 'pro'], {
      home,
      env,
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No account uses ghost@example.test.');
  });
});
