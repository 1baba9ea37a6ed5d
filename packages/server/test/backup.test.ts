import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from './helpers/accounts.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

/**
 * Claim C30 (operational): backups are the operator's (docs/operations.md, "Backups"). What software can
 * show is what any backup of the database holds: secrets only as hashes, AI content only as ciphertext.
 */
describe('what a backup holds (claim C30)', () => {
  let t: TestApp;
  let user: TestUser;
  beforeEach(async () => {
    t = await buildTestApp();
    user = await userOnPlan(t, 'backup@example.test', 'pro');
  });
  afterEach(() => t.close());

  /** Every row of every table of the schema, as PostgreSQL's text form (bytea as hex), as a dump has it. */
  async function everything(): Promise<string> {
    const tables = await t.db.ownerQuery<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    );
    const parts: string[] = [];
    for (const { name } of tables) {
      const rows = await t.db.ownerQuery<{ row: string }>(`select t::text as row from "${name}" t`);
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  }

  it('holds no API key, prompt or model output in plaintext (hex or text), only hashes and ciphertext', async () => {
    const { key } = await createKey(t, user);
    const agent = await t.app.inject({
      method: 'POST',
      url: '/api/v1/agents',
      headers: asSession(t, user),
      payload: { name: 'backup', model: 'mock' },
    });
    expect(agent.statusCode, agent.body).toBe(201);
    const prompt = 'Quarterly revenue of the Zanzibar account is 4,711,113 euros';
    const run = await t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agent.json().id}/execute`,
      headers: bearer(key),
      payload: { input: prompt },
    });
    expect(run.statusCode, run.body).toBe(201);
    const output: string = run.json().output;
    expect(output).toContain('Zanzibar');

    const dump = await everything();
    // The scan sees the rows (row-level security does not hide them from the dumping role).
    expect(dump).toContain(run.json().id);
    expect(dump).toContain(agent.json().id);
    const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
    for (const secret of [key, key.slice(4, 40), prompt, 'Zanzibar', output.slice(0, 40)]) {
      expect(dump.includes(secret), secret).toBe(false);
      expect(dump.includes(hex(secret)), `hex of ${secret}`).toBe(false);
    }
  });
});
