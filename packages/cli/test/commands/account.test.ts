import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { accountDeletionBody, BASE_URL, meBody, problem, useMsw } from '../../../testkit/src/index.js';
import { readCredentialsFile, storeCredentials } from '../credentials.js';
import { oauthCredential, runCli, tempConfigHome } from '../helpers.js';

const server = useMsw();

const env = { FLEECE_TOKEN: 'at_1', FLEECE_BASE_URL: BASE_URL };

const PENDING = accountDeletionBody('pending_deletion');
const ACTIVE = accountDeletionBody('active');

/** The account endpoints; records the deletion requests the server receives. */
function accountServer(
  options: { status?: 'active' | 'pending_deletion'; request?: () => Response; cancel?: () => Response } = {},
) {
  const calls: string[] = [];
  const me = meBody();
  server.use(
    http.get(`${BASE_URL}/api/v1/me`, () =>
      HttpResponse.json({ ...me, user: { ...me.user, status: options.status ?? 'active' } }),
    ),
    http.get(`${BASE_URL}/api/v1/account/deletion`, () =>
      HttpResponse.json(options.status === 'pending_deletion' ? PENDING : ACTIVE),
    ),
    http.post(`${BASE_URL}/api/v1/account/deletion`, () => {
      calls.push('request');
      return options.request?.() ?? HttpResponse.json(PENDING, { status: 202 });
    }),
    http.post(`${BASE_URL}/api/v1/account/deletion/cancel`, () => {
      calls.push('cancel');
      return options.cancel?.() ?? HttpResponse.json(ACTIVE);
    }),
  );
  return calls;
}

describe('fleece account delete', () => {
  it('asks for the email on a terminal, then schedules the deletion and says how to cancel', async () => {
    const calls = accountServer();
    const result = await runCli(['account', 'delete'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: ['Ada@Example.com '],
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.asked).toEqual([
      'This deletes ada@example.com and everything it owns, permanently, after a grace period. Type your email address or "delete my account" to confirm',
    ]);
    expect(calls).toEqual(['request']);
    expect(result.stderr).toContain(
      'Account ada@example.com is scheduled for deletion on 2026-03-08 09:00 UTC.',
    );
    expect(result.stderr).toContain('`fleece account delete --cancel`');
  });

  it('accepts "delete my account" as the typed confirmation', async () => {
    const calls = accountServer();
    const result = await runCli(['account', 'delete'], {
      env,
      stdin: 'tty',
      tty: true,
      answers: ['Delete my account'],
    });
    expect(result.exitCode).toBe(0);
    expect(calls).toEqual(['request']);
  });

  it('sends nothing when the typed confirmation does not match (exit 1)', async () => {
    const calls = accountServer();
    const result = await runCli(['account', 'delete'], { env, stdin: 'tty', tty: true, answers: ['yes'] });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('The confirmation did not match; nothing was deleted.');
    expect(calls).toEqual([]);
  });

  it('without a terminal needs --yes --confirm <email>: exit 2 naming the flags, nothing sent', async () => {
    const calls = accountServer();
    for (const args of [[], ['--yes'], ['--confirm', 'ada@example.com']]) {
      const result = await runCli(['account', 'delete', ...args], { env });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.asked).toEqual([]);
      expect(result.stderr).toContain('--yes --confirm <your email>');
    }
    expect(calls).toEqual([]);
  });

  it('deletes with --yes --confirm <email> in CI, printing the state with --json', async () => {
    const calls = accountServer();
    const result = await runCli(['account', 'delete', '--yes', '--confirm', 'ada@example.com', '--json'], {
      env: { ...env, CI: 'true' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(PENDING);
    expect(result.asked).toEqual([]);
    expect(calls).toEqual(['request']);
  });

  it('refuses a --confirm that is not the account’s email (exit 2), sending nothing', async () => {
    const calls = accountServer();
    const result = await runCli(['account', 'delete', '--yes', '--confirm', 'bob@example.com'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--confirm does not match the account's email address (ada@example.com)");
    expect(calls).toEqual([]);
  });

  it('says to log in again when the login is older than 10 minutes (exit 4)', async () => {
    accountServer({
      request: () =>
        problem(403, 'reauthentication_required', { detail: 'Deleting the account needs a recent sign-in.' }),
    });
    const result = await runCli(['account', 'delete', '--yes', '--confirm', 'ada@example.com'], { env });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('Deleting the account needs a login from the last 10 minutes.');
    expect(result.stderr).toContain(
      'Run `fleece login`, then `fleece account delete` again within 10 minutes.',
    );
  });

  it('removes the stored login after the deletion request (the server revoked it)', async () => {
    const home = await tempConfigHome();
    await storeCredentials(home, oauthCredential());
    accountServer();
    const result = await runCli(
      ['account', 'delete', '--server', BASE_URL, '--yes', '--confirm', 'ada@example.com'],
      {
        configHome: home,
      },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await readCredentialsFile(home))?.credentials).toEqual([]);
  });

  it('shows the date when the account is already pending, and sends nothing', async () => {
    const calls = accountServer({ status: 'pending_deletion' });
    const result = await runCli(['account', 'delete', '--yes', '--confirm', 'ada@example.com'], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('already scheduled for deletion on 2026-03-08 09:00 UTC');
    expect(result.stderr).toContain('fleece account delete --cancel');
    expect(calls).toEqual([]);
  });

  it('cancels a pending deletion with --cancel', async () => {
    const calls = accountServer({ status: 'pending_deletion' });
    const result = await runCli(['account', 'delete', '--cancel'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(calls).toEqual(['cancel']);
    expect(result.stderr).toContain('Deletion cancelled: your account is active again.');
  });

  it('says so when there is nothing to cancel, or when it is too late (exit 1)', async () => {
    accountServer({ cancel: () => problem(409, 'deletion_not_pending', { detail: 'x' }) });
    const none = await runCli(['account', 'delete', '--cancel'], { env });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('This account is not scheduled for deletion: there is nothing to cancel.');
    accountServer({ cancel: () => problem(409, 'deletion_in_progress', { detail: 'x' }) });
    const late = await runCli(['account', 'delete', '--cancel'], { env });
    expect(late.exitCode).toBe(1);
    expect(late.stderr).toContain('The grace period is over');
  });

  it('exits 3 without credentials, before asking anything', async () => {
    const result = await runCli(['account', 'delete'], { env: { FLEECE_BASE_URL: BASE_URL } });
    expect(result.exitCode).toBe(3);
    expect(result.asked).toEqual([]);
  });
});
