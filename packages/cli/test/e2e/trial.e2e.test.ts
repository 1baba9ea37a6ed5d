import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFleece, useRealServer } from './harness.js';

let home: string;
let env: Record<string, string>;

useRealServer({ signIn: { email: 'trial@example.test', plan: 'pro' } }, (setup) => {
  ({ home, env } = setup);
});

describe('what a new-user trial ran into, with the built binary against a real server (PGlite)', {
  timeout: 90_000,
}, () => {
  it('export to a directory that does not exist: exit 2, one line and a hint, no stack trace, nothing written', async () => {
    const missing = join(home, 'nonexistent-dir');
    const result = await runFleece(['export', '-o', join(missing, 'x.ndjson')], { home, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: cannot write to ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such directory\\.\\nhint: .+\\n$`,
      ),
    );
    expect(await readdir(home)).not.toContain('nonexistent-dir');
  });

  it('agents by name with piped input; refused values exit 2 naming the flag; delete needs --yes without a terminal', async () => {
    const consent = await runFleece(['account', 'consent', 'ai_processing', '--grant'], { home, env });
    expect(consent.code, consent.stderr).toBe(0);
    const created = await runFleece(
      ['agents', 'create', '--name', 'summariser', '--instructions', 'Summarise.', '--json'],
      { home, env },
    );
    expect(created.code, created.stderr).toBe(0);
    const agentId = (JSON.parse(created.stdout) as { id: string }).id;

    const run = await runFleece(['agents', 'run', 'summariser', '-'], { home, env, input: 'Some notes.\n' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(1);
    const listed = await runFleece(['executions', 'list', '--agent', 'summariser', '--json'], { home, env });
    const page = JSON.parse(listed.stdout) as { data: { agentId: string; input: string }[] };
    expect(page.data.map((e) => [e.agentId, e.input])).toEqual([[agentId, 'Some notes.']]);
    const typo = await runFleece(['executions', 'list', '--agent', 'sumariser'], { home, env });
    expect(typo.code).toBe(6);

    const hot = await runFleece(['agents', 'create', '--name', 'hot', '--temperature', '7'], { home, env });
    expect(hot.code).toBe(2);
    expect(hot.stderr).toContain('hint: Check the value of --temperature (`fleece agents create --help`');

    const cron = await runFleece(
      ['flows', 'create', '--name', 'f', '--step', `a:${agentId}:{{input}}`, '--schedule', '* * * *'],
      { home, env },
    );
    expect(cron.code).toBe(2);
    expect(cron.stderr).toContain(
      "expected a cron expression of 5 fields (minute hour day month weekday), e.g. '0 6 * * 1-5'; got 4 fields",
    );
    expect(cron.stderr).toContain('hint: Check the value of --schedule');

    const refused = await runFleece(['agents', 'delete', 'summariser'], { home, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('`fleece agents delete summariser --yes`');
    const deleted = await runFleece(['agents', 'delete', 'summariser', '--yes'], { home, env });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain(`Deleted agent ${agentId}.`);
  });
});
