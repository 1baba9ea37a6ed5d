import { describe, expect, it } from 'vitest';
import type { RealServer } from '../../../testkit/src/index.js';
import { runFleece, useRealServer } from './harness.js';

let server: RealServer;
let home: string;
/** An access token of a Pro account, as `fleece login` would store it. */
let token: string;

// The admin puts their own account on Pro (billing is off), then logs the CLI in.
useRealServer({ signIn: { email: 'ops@example.test', plan: 'pro' } }, (setup) => {
  ({ server, home, token } = setup);
});

describe('fleece keys against a real server (PGlite)', { timeout: 90_000 }, () => {
  it('creates a key shown once, which then works as FLEECE_API_KEY until it is revoked', async () => {
    const env = { FLEECE_TOKEN: token, FLEECE_BASE_URL: server.url };
    const created = await runFleece(['keys', 'create', '--name', 'e2e', '--expires-in', '30d', '--json'], {
      home,
      env,
    });
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('shown only once');
    const key = JSON.parse(created.stdout) as { id: string; key: string; name: string };
    expect(key.key).toMatch(/^flc_[0-9A-Za-z]{49}$/);
    expect(server.logs.join('\n')).not.toContain(key.key.slice(4));

    const whoami = await runFleece(['whoami'], {
      home,
      env: { FLEECE_API_KEY: key.key, FLEECE_BASE_URL: server.url },
    });
    expect(whoami).toMatchObject({ code: 0, stdout: 'ops@example.test\n' });

    const list = await runFleece(['keys', 'list', '--json'], { home, env });
    const listed = JSON.parse(list.stdout) as { data: { id: string }[] };
    expect(listed.data.map((k) => k.id)).toEqual([key.id]);
    expect(list.stdout).not.toContain(key.key);

    // Keys cannot create keys: 403, exit 4.
    const byKey = await runFleece(['keys', 'create', '--name', 'child'], {
      home,
      env: { FLEECE_API_KEY: key.key, FLEECE_BASE_URL: server.url },
    });
    expect(byKey.code).toBe(4);

    const piped = await runFleece(['keys', 'revoke', key.id], { home, env });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('--yes');
    const revoked = await runFleece(['keys', 'revoke', key.id, '--yes'], { home, env });
    expect(revoked).toMatchObject({ code: 0, stderr: `✓ Revoked API key ${key.id}.\n` });

    const refused = await runFleece(['whoami'], {
      home,
      env: { FLEECE_API_KEY: key.key, FLEECE_BASE_URL: server.url },
    });
    expect(refused.code).toBe(3);
  });

  it('exits 4 with the upgrade hint at the plan limit (Pro: 5 keys)', async () => {
    const env = { FLEECE_TOKEN: token, FLEECE_BASE_URL: server.url };
    for (let i = 0; i < 5; i++) {
      expect((await runFleece(['keys', 'create', '--name', `k${i}`], { home, env })).code).toBe(0);
    }
    const sixth = await runFleece(['keys', 'create', '--name', 'k5'], { home, env });
    expect(sixth.code).toBe(4);
    expect(sixth.stderr).toContain('The Pro plan allows 5 API keys.');
    expect(sixth.stderr).toContain('hint: A higher plan lifts this limit');
  });
});
