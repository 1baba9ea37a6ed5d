import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withUser } from '../../src/db/tenant.js';
import { ProblemError } from '../../src/errors.js';
import { PLANS } from '../../src/limits.js';
import { calendarMonth, effectiveEntitlements } from '../../src/modules/plans/entitlements.js';
import { userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** The problem a promise rejected with (fails the test when it resolved). */
async function problemOf(promise: Promise<unknown>): Promise<ProblemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProblemError);
  return error as ProblemError;
}

describe('entitlements (claim C11)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  const consume = (userId: string) =>
    withUser(t.app.db, userId, (tx) => t.app.entitlements.consumeExecution(tx, userId));

  it('counts executions per calendar month atomically: 60 at once on Free give exactly 50', async () => {
    const { userId } = await userOnPlan(t, 'quota@example.test', 'free');
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => consume(userId)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(50);
    expect(refused).toHaveLength(10);
    expect((refused[0]!.reason as ProblemError).code).toBe('plan_limit_reached');
    expect((refused[0]!.reason as ProblemError).extras).toEqual({
      upgrade: true,
      limit: 'executionsPerMonth',
      max: 50,
      plan: 'free',
    });
    const counts = ok
      .map((r) => (r as PromiseFulfilledResult<{ used: number }>).value.used)
      .sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // The count starts again with the next calendar month (UTC).
    t.clock.advance(31 * 86_400_000);
    await expect(consume(userId)).resolves.toEqual({
      used: 1,
      limit: 50,
      period: '2026-02',
      resetsAt: new Date('2026-03-01T00:00:00.000Z'),
    });
  });

  it('gives a refused or rolled-back execution its unit back', async () => {
    const { userId } = await userOnPlan(t, 'rollback@example.test', 'free');
    await withUser(t.app.db, userId, async (tx) => {
      await t.app.entitlements.consumeExecution(tx, userId);
      throw new Error('the execution failed to start');
    }).catch(() => {});
    await expect(consume(userId)).resolves.toMatchObject({ used: 1 });
  });

  it('shows executions in /api/v1/me at once on the instance that counted them', async () => {
    const user = await userOnPlan(t, 'shown@example.test', 'pro');
    const me = () =>
      t.app.inject({ url: '/api/v1/me', headers: { cookie: user.cookie } }).then((r) => r.json());
    expect((await me()).usage.executions).toEqual({
      used: 0,
      limit: 2000,
      period: '2026-01',
      resetsAt: '2026-02-01T00:00:00.000Z',
    });
    await consume(user.userId);
    await consume(user.userId);
    expect((await me()).usage.executions.used).toBe(2);
  });

  it('gates premium models on the plan', async () => {
    const free = await userOnPlan(t, 'std@example.test', 'free');
    const pro = await userOnPlan(t, 'prem@example.test', 'pro');
    const problem = await problemOf(
      withUser(t.app.db, free.userId, (tx) => t.app.entitlements.requirePremiumModels(tx, free.userId)),
    );
    expect(problem.status).toBe(403);
    expect(problem.extras).toEqual({ upgrade: true, limit: 'premiumModels', plan: 'free' });
    await expect(
      withUser(t.app.db, pro.userId, (tx) => t.app.entitlements.requirePremiumModels(tx, pro.userId)),
    ).resolves.toBeUndefined();
  });

  it('reserves a counted resource under the account lock and names the limit when full', async () => {
    const { userId } = await userOnPlan(t, 'agents@example.test', 'free');
    const count = async () => 1;
    const problem = await problemOf(
      withUser(t.app.db, userId, (tx) => t.app.entitlements.reserve(tx, userId, 'agents', count)),
    );
    expect(problem.detail).toBe('The Free plan allows 1 agent. Upgrade to a higher plan for more.');
    expect(problem.extras).toMatchObject({ limit: 'agents', max: 1 });
    await expect(
      withUser(t.app.db, userId, (tx) => t.app.entitlements.reserve(tx, userId, 'agents', async () => 0)),
    ).resolves.toMatchObject({ plan: PLANS.free });
  });

  it('keeps history for the plan’s retention days', async () => {
    const { userId } = await userOnPlan(t, 'keep@example.test', 'business');
    const cutoff = await withUser(t.app.db, userId, (tx) => t.app.entitlements.retentionCutoff(tx, userId));
    expect(cutoff).toEqual(new Date('2025-10-03T00:00:00.000Z'));
  });

  it('applies per-account overrides to Enterprise only', async () => {
    const { userId } = await userOnPlan(t, 'big@example.test', 'enterprise');
    await t.db.ownerQuery(
      `insert into account_limits (user_id, limits, updated_at) values ($1, '{"apiKeys": 40, "apiPerDay": 9}', now())`,
      [userId],
    );
    t.app.invalidations.afterCommit(`u:${userId}`);
    const limits = await withUser(t.app.db, userId, (tx) => t.app.entitlements.limits(tx, userId));
    expect(limits.entitlements).toEqual({ ...PLANS.enterprise.entitlements, apiKeys: 40, apiPerDay: 9 });
    expect(effectiveEntitlements(PLANS.pro, { apiKeys: 40 })).toEqual(PLANS.pro.entitlements);
  });
});

describe('calendarMonth', () => {
  it('is the UTC month, whatever the local offset of the instant', () => {
    expect(calendarMonth(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      period: '2026-12',
      resetsAt: new Date('2027-01-01T00:00:00.000Z'),
    });
    expect(calendarMonth(new Date('2026-03-01T00:30:00+01:00')).period).toBe('2026-02');
  });
});
