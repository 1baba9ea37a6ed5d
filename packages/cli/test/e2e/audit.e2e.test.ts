import { describe, expect, it } from 'vitest';
import type { RealServer } from '../../../testkit/src/index.js';
import { runFleece, startFleece, useRealServer } from './harness.js';

const EMAIL = 'auditor@example.test';

let server: RealServer;
let home: string;
/** The signed-in CLI (an OAuth access token). */
let token: string;
/** An API key of the same account, which the tail runs with. */
let key: string;

useRealServer({ signIn: { email: EMAIL, plan: 'pro' } }, async (setup) => {
  ({ server, home, token } = setup);
  const created = await runFleece(
    ['keys', 'create', '--name', 'tail', '--scopes', 'read,audit:read', '--json'],
    {
      home,
      env: setup.env,
    },
  );
  key = (JSON.parse(created.stdout) as { key: string }).key;
});

describe('fleece audit against a real server (PGlite)', { timeout: 90_000 }, () => {
  it('tail --follow picks up an event made by another client, live, until Ctrl+C', async () => {
    const tail = startFleece(['audit', 'tail', '--follow', '--action', 'api_key.', '-n', '1', '--json'], {
      home,
      env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: server.url },
    });
    // The newest API key event (the tail key's own creation) comes first, then the tail follows.
    await tail.waitForStderr(/Following new events/);
    const other = await runFleece(['keys', 'create', '--name', 'other', '--json'], {
      home,
      env: { FLEECE_TOKEN: token, FLEECE_BASE_URL: server.url },
    });
    const otherId = (JSON.parse(other.stdout) as { id: string }).id;
    await tail.waitForStdout(new RegExp(`"resourceId":"${otherId}"`));
    tail.kill('SIGINT');
    const result = await tail.done;
    expect(result.code).toBe(130);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; action: string; resourceId: string });
    expect(events.map((e) => e.action)).toEqual(['api_key.created', 'api_key.created']);
    expect(events[1]?.resourceId).toBe(otherId);
  });

  it('list filters, and verify exits 0 on the intact chain', async () => {
    const env = { FLEECE_API_KEY: key, FLEECE_BASE_URL: server.url };
    const list = await runFleece(['audit', 'list', '--action', 'api_key.', '--since', '1h', '--json'], {
      home,
      env,
    });
    expect(list.code).toBe(0);
    const page = JSON.parse(list.stdout) as { data: { action: string }[] };
    expect(page.data.length).toBeGreaterThanOrEqual(2);
    expect(page.data.every((e) => e.action.startsWith('api_key.'))).toBe(true);
    const verify = await runFleece(['audit', 'verify'], { home, env });
    expect(verify.code).toBe(0);
    expect(verify.stderr).toMatch(/^✓ The audit log's hash chain is intact: \d+ events checked\.\n$/);
  });
});
