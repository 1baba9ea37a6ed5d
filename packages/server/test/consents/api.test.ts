import { Consent, ConsentList } from '@fleece/sdk/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONSENT_POLICY_VERSIONS } from '../../src/modules/consents/service.js';
import { asSession, bearer, createKey, type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents } from '../helpers/identity.js';

describe('consents and "no consent, no AI" (issue 7)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const list = async (user: TestUser) => {
    const res = await t.app.inject({ url: '/api/v1/account/consents', headers: { cookie: user.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return ConsentList.parse(res.json()).data;
  };
  const put = (user: TestUser, type: string, body: unknown) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/v1/account/consents/${type}`,
      headers: asSession(t, user),
      payload: body as Record<string, unknown>,
    });
  const createAgent = async (user: TestUser) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/agents',
      headers: asSession(t, user),
      payload: { name: 'helper', instructions: 'Answer briefly.' },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const execute = (user: TestUser, agentId: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/agents/${agentId}/execute`,
      headers: asSession(t, user),
      payload: { input: 'hello' },
    });
  const chat = (user: TestUser) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: asSession(t, user),
      payload: { message: 'hello' },
    });
  const consentEvents = async () => (await auditEvents(t)).filter((e) => e.action.startsWith('consent.'));

  it('lists every type undecided for a new account', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    expect(await list(ada)).toEqual(
      (['ai_processing', 'product_email', 'terms'] as const).map((type) => ({
        type,
        granted: false,
        policyVersion: null,
        currentPolicyVersion: CONSENT_POLICY_VERSIONS[type],
        updatedAt: null,
      })),
    );
  });

  it('refuses execute and chat with 403 consent_required (saying how to grant it) until ai_processing is granted', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    const agentId = await createAgent(ada);
    for (const res of [await execute(ada, agentId), await chat(ada)]) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json();
      expect(problem.code).toBe('consent_required');
      expect(problem.type).toBe('https://fleece.dev/problems/consent_required');
      expect(problem.consent).toBe('ai_processing');
      expect(problem.detail).toContain('`fleece account consent ai_processing --grant`');
      expect(problem.detail).toContain(`${new URL('/settings', t.app.config.publicUrl).href}`);
    }
    // Nothing ran and nothing was charged.
    expect(await t.db.ownerQuery('select id from executions')).toEqual([]);
    expect(await t.db.ownerQuery('select id from conversations')).toEqual([]);

    const granted = await put(ada, 'ai_processing', { granted: true });
    expect(granted.statusCode, granted.body).toBe(200);
    expect(Consent.parse(granted.json())).toEqual({
      type: 'ai_processing',
      granted: true,
      policyVersion: CONSENT_POLICY_VERSIONS.ai_processing,
      currentPolicyVersion: CONSENT_POLICY_VERSIONS.ai_processing,
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect((await execute(ada, agentId)).statusCode).toBe(201);
    expect((await chat(ada)).statusCode).toBe(200);

    const revoked = await put(ada, 'ai_processing', { granted: false });
    expect(revoked.json()).toMatchObject({
      granted: false,
      policyVersion: CONSENT_POLICY_VERSIONS.ai_processing,
    });
    expect((await execute(ada, agentId)).json().code).toBe('consent_required');
    expect((await chat(ada)).json().code).toBe('consent_required');
  });

  it('audits each change once (consent.granted / consent.revoked), not a repeated decision', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    expect((await put(ada, 'product_email', { granted: true })).statusCode).toBe(200);
    t.clock.advance(60_000);
    const again = await put(ada, 'product_email', { granted: true });
    expect(again.json().updatedAt).toBe('2026-01-01T00:00:00.000Z');
    expect((await put(ada, 'product_email', { granted: false })).json().updatedAt).toBe(
      '2026-01-01T00:01:00.000Z',
    );
    await put(ada, 'product_email', { granted: false });
    await put(ada, 'terms', { granted: true });
    expect(await consentEvents()).toEqual([
      {
        action: 'consent.granted',
        outcome: 'success',
        resource_id: 'product_email',
        metadata: { policyVersion: CONSENT_POLICY_VERSIONS.product_email },
      },
      {
        action: 'consent.revoked',
        outcome: 'success',
        resource_id: 'product_email',
        metadata: { policyVersion: CONSENT_POLICY_VERSIONS.product_email },
      },
      {
        action: 'consent.granted',
        outcome: 'success',
        resource_id: 'terms',
        metadata: { policyVersion: CONSENT_POLICY_VERSIONS.terms },
      },
    ]);
    const byType = Object.fromEntries((await list(ada)).map((c) => [c.type, c.granted]));
    expect(byType).toEqual({ ai_processing: false, product_email: false, terms: true });
  });

  it('does not count a grant of an older policy version; granting again records the current one', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    await put(ada, 'ai_processing', { granted: true });
    await t.db.ownerQuery(`update consents set policy_version = '2020-01-01' where user_id = $1`, [
      ada.userId,
    ]);
    const [ai] = await list(ada);
    expect(ai).toMatchObject({ granted: false, policyVersion: '2020-01-01' });
    expect((await execute(ada, await createAgent(ada))).json().code).toBe('consent_required');
    const regranted = await put(ada, 'ai_processing', { granted: true });
    expect(regranted.json()).toMatchObject({
      granted: true,
      policyVersion: CONSENT_POLICY_VERSIONS.ai_processing,
    });
    expect((await consentEvents()).map((e) => e.action)).toEqual(['consent.granted', 'consent.granted']);
  });

  it('validates the type and body; API keys may read consents but not change them', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    const badType = await put(ada, 'marketing', { granted: true });
    expect(badType.statusCode).toBe(400);
    expect(badType.json().code).toBe('validation_failed');
    const badBody = await put(ada, 'terms', { granted: 'yes' });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().code).toBe('validation_failed');
    const extra = await put(ada, 'terms', { granted: true, version: '1' });
    expect(extra.statusCode).toBe(400);

    const { key } = await createKey(t, ada);
    const read = await t.app.inject({ url: '/api/v1/account/consents', headers: bearer(key) });
    expect(read.statusCode).toBe(200);
    const write = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/account/consents/ai_processing',
      headers: bearer(key),
      payload: { granted: true },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().code).toBe('forbidden');
    expect(await consentEvents()).toEqual([]);

    const anonymous = await t.app.inject({ url: '/api/v1/account/consents' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('keeps each user to their own consents', async () => {
    const ada = await userOnPlan(t, 'ada@example.test', 'pro', { aiConsent: false });
    const bob = await userOnPlan(t, 'bob@example.test', 'pro', { aiConsent: false });
    await put(ada, 'terms', { granted: true });
    expect((await list(bob)).every((c) => !c.granted && c.updatedAt === null)).toBe(true);
    expect((await list(ada)).find((c) => c.type === 'terms')!.granted).toBe(true);
  });
});
