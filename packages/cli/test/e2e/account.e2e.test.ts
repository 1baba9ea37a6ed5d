import { describe, expect, it } from 'vitest';
import { cliAccessToken, type RealServer, signInWithMagicLink } from '../../../testkit/src/index.js';
import { runFleece, useRealServer } from './harness.js';

let server: RealServer;
let home: string;

useRealServer({}, (setup) => {
  ({ server, home } = setup);
});

describe('fleece account delete against a real server (PGlite)', { timeout: 90_000 }, () => {
  it('schedules the deletion (the login stops working), then a new login cancels it', async () => {
    const email = 'leaving@example.test';
    const token = await cliAccessToken(server, await signInWithMagicLink(server, email));
    const env = { FLEECE_TOKEN: token, FLEECE_BASE_URL: server.url };

    // Without a terminal and without both flags: exit 2, nothing sent.
    const piped = await runFleece(['account', 'delete'], { home, env });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('--yes --confirm');

    const deleted = await runFleece(['account', 'delete', '--yes', '--confirm', email, '--json'], {
      home,
      env,
    });
    expect(deleted.code, deleted.stderr).toBe(0);
    const state = JSON.parse(deleted.stdout) as { status: string; purgeAfter: string; graceDays: number };
    expect(state).toMatchObject({ status: 'pending_deletion', cancellable: true, graceDays: 7 });
    expect(Date.parse(state.purgeAfter) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // The request revoked this login.
    expect((await runFleece(['whoami'], { home, env })).code).toBe(3);

    // A new login works for the deletion only.
    const again = await cliAccessToken(server, await signInWithMagicLink(server, email));
    const env2 = { FLEECE_TOKEN: again, FLEECE_BASE_URL: server.url };
    const keys = await runFleece(['keys', 'list'], { home, env: env2 });
    expect(keys.code).toBe(4);
    expect(keys.stderr).toContain('scheduled for deletion');
    const pending = await runFleece(['account', 'delete', '--yes', '--confirm', email], { home, env: env2 });
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('already scheduled for deletion');

    const cancelled = await runFleece(['account', 'delete', '--cancel'], { home, env: env2 });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stderr).toContain('Deletion cancelled');
    expect(await runFleece(['whoami'], { home, env: env2 })).toMatchObject({ code: 0, stdout: `${email}\n` });
  });
});
