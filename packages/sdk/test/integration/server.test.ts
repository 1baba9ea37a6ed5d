import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// The real app on in-memory PGlite, with the browser-side steps (magic-link sign-in, the /device decision).
import {
  decideDevice,
  type RealServer,
  signInWithMagicLink,
  startRealServer,
} from '../../../testkit/src/index.js';
import { type AuditEvent, Fleece, PermissionDeniedError } from '../../src/index.js';
import { timers } from '../../src/internal/timers.js';

const EMAIL = 'sdk-integration@example.test';

let server: RealServer;
/** Signed in through the device flow (an OAuth access token), as the CLI is. */
let user: Fleece;
/** An API key of the same account, as a CI pipeline would use. */
let ci: Fleece;

beforeAll(async () => {
  server = await startRealServer({ FLEECE_ADMIN_EMAILS: EMAIL });
  const cookie = await signInWithMagicLink(server, EMAIL);
  const anonymous = new Fleece({ baseURL: server.url, auth: false });
  const grant = await anonymous.auth.deviceAuthorization();
  expect((await decideDevice(server, cookie, grant.user_code, 'approve')).status).toBe(200);
  // The poll waits `interval` seconds first; the approval is already in, so that wait is skipped.
  const sleep = vi.spyOn(timers, 'sleep').mockResolvedValue(undefined);
  const tokens = await anonymous.auth.pollDeviceToken(grant);
  sleep.mockRestore();
  user = new Fleece({ baseURL: server.url, accessToken: tokens.access_token });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('@fleece/sdk against a real server (PGlite)', () => {
  it('signs in with the device flow and reads the account', async () => {
    const me = await user.me.get();
    expect(me.user.email).toBe(EMAIL);
    expect(me.plan.id).toBe('free');
  });

  it('gets an API key once the plan allows one', async () => {
    await expect(user.apiKeys.create({ name: 'ci' })).rejects.toBeInstanceOf(PermissionDeniedError);
    const me = await user.me.get();
    await user.admin.users.update(me.user.id, { plan: 'pro' });
    // Least privilege by default (read only): this key is asked for what the tests below do with it.
    const created = await user.apiKeys.create({
      name: 'ci',
      scopes: ['read', 'write', 'agents:execute', 'audit:read'],
    });
    expect(created.key).toMatch(/^flc_/);
    ci = new Fleece({ baseURL: server.url, apiKey: created.key });
    expect((await ci.me.get()).user.email).toBe(EMAIL);
    const listed = await ci.apiKeys.list();
    expect(listed.data.map((k) => k.id)).toEqual([created.id]);
  });

  it('creates an agent, executes it streaming, and lists the execution', async () => {
    // No consent, no AI (issue 7): the person grants ai_processing before the first execution.
    await user.put('/api/v1/account/consents/ai_processing', { body: { granted: true } });
    const agent = await ci.agents.create({ name: 'echo', instructions: 'Answer briefly.' });
    const stream = await ci.agents.execute(agent.id, { input: 'Hello', stream: true });
    const kinds: string[] = [];
    let text = '';
    for await (const event of stream) {
      kinds.push(event.event);
      if (event.event === 'output.delta') text += event.data.text;
    }
    expect(kinds[0]).toBe('execution.started');
    expect(kinds.slice(-2)).toEqual(['execution.completed', 'done']);
    expect(text.length).toBeGreaterThan(0);
    const executions = [];
    for await (const execution of ci.executions.list({ agentId: agent.id })) executions.push(execution);
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ agentId: agent.id, status: 'succeeded', output: text });
  });

  it('tails audit events: an event made by another client shows up', async () => {
    const tail = await ci.audit.stream({ action: 'api_key.' });
    // Another client (the signed-in user) creates and revokes a key while the tail is open.
    const other = await user.apiKeys.create({ name: 'temporary' });
    await user.apiKeys.revoke(other.id);
    const seen: AuditEvent[] = [];
    for await (const event of tail) {
      seen.push(event);
      if (seen.length === 2) break;
    }
    expect(seen.map((e) => [e.action, e.resourceId])).toEqual([
      ['api_key.created', other.id],
      ['api_key.revoked', other.id],
    ]);
    // Made by the signed-in person (an admin here, who set the plan), not by the key reading the tail.
    expect(seen[0]?.actor).toMatchObject({ type: 'admin', apiKeyId: null });

    // What happened after a checkpoint can be caught up with, and the chain is intact.
    const list = await ci.audit.list({ action: 'api_key.', limit: 100 });
    expect(list.data.slice(0, 2).map((e) => e.id)).toEqual([seen[1]?.id, seen[0]?.id]);
    const caughtUp: string[] = [];
    for await (const event of await ci.audit.stream({ lastEventId: seen[0]?.id, follow: false })) {
      caughtUp.push(event.id);
    }
    expect(caughtUp).toContain(seen[1]?.id);
    expect(caughtUp).not.toContain(seen[0]?.id);
    const verdict = await ci.audit.verify();
    expect(verdict).toMatchObject({ valid: true });
    expect(verdict.checked).toBeGreaterThan(0);
  });

  it('lists sessions and revokes the other ones', async () => {
    const sessions = await user.sessions.list();
    expect(sessions.data.filter((s) => s.current)).toHaveLength(1);
    const { revoked } = await user.sessions.revokeOthers();
    expect(revoked).toBe(sessions.data.length - 1);
    expect((await user.sessions.list()).data).toHaveLength(1);
  });
});
