import { and, eq, sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../../db/client.js';
import { users } from '../../db/schema/identity.js';
import { accountLimits, usageCounters } from '../../db/schema/plans.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { type Entitlements, type Plan, type PlanId, planOf } from '../../limits.js';

/** The limits that are counted: what `plan_limit_reached` names in its `limit` member. */
export type CountedLimit = 'apiKeys' | 'agents' | 'executionsPerMonth';

/** The limits of one account: its plan, and the entitlements in force (Enterprise overrides applied). */
export interface AccountLimits {
  plan: Plan;
  entitlements: Entitlements;
  /** The stored Enterprise overrides (applied only while the plan is `enterprise`); `null` when none. */
  overrides: Partial<Entitlements> | null;
  /** The account's status: only an `active` account may start executions. */
  status: 'active' | 'suspended' | 'pending_deletion';
}

/**
 * Refuses to start anything for an account that is not `active`.
 * @throws {ProblemError} 403 `account_pending_deletion` for an account scheduled for deletion, 403
 *   `forbidden` for a suspended one.
 */
export function assertAccountActive(limits: Pick<AccountLimits, 'status'>): void {
  if (limits.status === 'pending_deletion') {
    throw new ProblemError(
      'account_pending_deletion',
      'This account is scheduled for deletion: nothing runs for it until the deletion is cancelled.',
    );
  }
  if (limits.status === 'suspended') throw new ProblemError('forbidden', 'This account is suspended.');
}

/** Usage of a calendar-month metric: how much of `limit` is `used` in `period` (`YYYY-MM`, UTC). */
export interface MonthlyUsage {
  used: number;
  limit: number;
  period: string;
  /** When the next period starts (the first instant of next month, UTC). */
  resetsAt: Date;
}

/** The metric name of agent executions in `usage_counters`. */
export const EXECUTIONS_METRIC = 'executions';

/**
 * The calendar month (UTC) containing `at`: its `period` label (`2026-01`) and when the next one starts.
 */
export function calendarMonth(at: Date): { period: string; resetsAt: Date } {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  return {
    period: `${year}-${String(month + 1).padStart(2, '0')}`,
    resetsAt: new Date(Date.UTC(year, month + 1, 1)),
  };
}

/**
 * The entitlements of `plan` with `overrides` applied when the plan is Enterprise (the only plan whose
 * limits are negotiated per account).
 */
export function effectiveEntitlements(plan: Plan, overrides: Partial<Entitlements> | null): Entitlements {
  return plan.id === 'enterprise' && overrides ? { ...plan.entitlements, ...overrides } : plan.entitlements;
}

/** What a refusal says a plan allows, in words: `5 API keys`, `50 executions a month`. */
function describe(limit: CountedLimit, max: number): string {
  switch (limit) {
    case 'apiKeys':
      return max === 0 ? 'no API keys' : `${max} API key${max === 1 ? '' : 's'}`;
    case 'agents':
      return `${max} agent${max === 1 ? '' : 's'}`;
    case 'executionsPerMonth':
      return `${max} agent execution${max === 1 ? '' : 's'} a month`;
  }
}

/**
 * The 403 `plan_limit_reached` problem for `limit` (RFC 9457 extension members: `upgrade: true`, `limit`
 * naming the limit, `max` its value on the account's plan, `plan` the plan id).
 *
 * @example throw planLimitProblem('agents', 1, planOf('free'));
 */
export function planLimitProblem(
  limit: CountedLimit,
  max: number,
  plan: Plan,
  detail?: string,
): ProblemError {
  return new ProblemError(
    'plan_limit_reached',
    detail ?? `The ${plan.name} plan allows ${describe(limit, max)}. Upgrade to a higher plan for more.`,
    { upgrade: true, limit, max, plan: plan.id },
  );
}

/** What {@link EntitlementsService} is built from (its dependencies and settings). */
export interface EntitlementsServiceOptions {
  clock: Clock;
}

/**
 * Plan entitlements, checked in services (never in routes): the limits of an account (with Enterprise
 * overrides), counted limits reserved under a per-account lock, the monthly execution quota counted
 * atomically, and the plan features (premium models, history retention, API access).
 *
 * Every method takes the caller's transaction, which must be in the user's row-level security scope
 * (`withUser(db, userId, …)`), so a check and the change it guards commit or roll back together.
 *
 * @example
 * // The AI platform, starting an execution:
 * await withUser(app.db, userId, async (tx) => {
 *   await app.entitlements.consumeExecution(tx, userId); // 403 plan_limit_reached when the month is used up
 *   // … insert the execution, record agent.executed …
 * });
 */
export class EntitlementsService {
  private readonly usageListeners = new Set<(userId: string) => void>();

  constructor(private readonly deps: EntitlementsServiceOptions) {}

  /**
   * Calls `listener(userId)` whenever this instance changes a user's metered usage (the `/api/v1/me` cache
   * drops its entry). @returns a function that removes it.
   */
  onUsageChange(listener: (userId: string) => void): () => void {
    this.usageListeners.add(listener);
    return () => this.usageListeners.delete(listener);
  }

  private async read(tx: Db, userId: string, lock: boolean): Promise<AccountLimits> {
    const query = tx
      .select({ plan: users.plan, overrides: accountLimits.limits, status: users.status })
      .from(users)
      .leftJoin(accountLimits, eq(accountLimits.userId, users.id))
      .where(eq(users.id, userId));
    const [row] = lock ? await query.for('update', { of: users }) : await query;
    if (!row) throw new ProblemError('not_found', 'This account no longer exists.');
    const plan = planOf(row.plan as PlanId);
    const overrides = (row.overrides as Partial<Entitlements> | null) ?? null;
    return { plan, overrides, entitlements: effectiveEntitlements(plan, overrides), status: row.status };
  }

  /** The plan and entitlements in force for `userId` (Enterprise overrides applied). */
  limits(tx: Db, userId: string): Promise<AccountLimits> {
    return this.read(tx, userId, false);
  }

  /**
   * Locks the account row (`SELECT … FOR UPDATE`) until `tx` ends and returns its limits. Every check of a
   * counted limit takes this lock first, so concurrent creations for one account queue, and a count taken
   * after it cannot be overtaken by a parallel transaction: the limit can never be exceeded.
   */
  lockAccount(tx: Db, userId: string): Promise<AccountLimits> {
    return this.read(tx, userId, true);
  }

  /**
   * Reserves one more of a counted resource (`apiKeys`, `agents`) for `userId` inside `tx`: locks the
   * account, counts what exists with `count(tx)`, and throws unless one more fits. Insert the new row in the
   * same transaction, after this call.
   *
   * @throws {ProblemError} 403 `plan_limit_reached` (`upgrade: true`, `limit`, `max`, `plan`) when the
   *   account already holds the plan's maximum.
   * @example
   * await app.entitlements.reserve(tx, userId, 'agents', (tx) => countAgents(tx, userId));
   */
  async reserve(
    tx: Db,
    userId: string,
    limit: 'apiKeys' | 'agents',
    count: (tx: Db) => Promise<number>,
  ): Promise<AccountLimits> {
    const limits = await this.lockAccount(tx, userId);
    const max = limits.entitlements[limit];
    const used = await count(tx);
    if (used + 1 > max) throw planLimitProblem(limit, max, limits.plan);
    return limits;
  }

  /**
   * Counts one agent execution against the calendar-month quota (UTC) of `userId`, atomically: one
   * `INSERT … ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < limit RETURNING count`, so parallel
   * executions can never exceed the quota and a refused one counts nothing. Call it inside the transaction
   * that creates the execution, so a rollback gives the unit back.
   *
   * An account that is not `active` starts nothing, whatever asks (a request, or a job such as a flow's
   * schedule): the HTTP layer refuses such accounts already, jobs reach this check.
   *
   * `known`, the account's limits when the caller read them in `tx` already ({@link limits}), saves reading them again.
   *
   * @returns the month's usage after this execution.
   * @throws {ProblemError} 403 `plan_limit_reached` (`limit: 'executionsPerMonth'`) when the month's quota
   *   is used up; 403 `account_pending_deletion` for an account scheduled for deletion, `forbidden` for a
   *   suspended one.
   */
  async consumeExecution(tx: Db, userId: string, known?: AccountLimits): Promise<MonthlyUsage> {
    const limits = known ?? (await this.limits(tx, userId));
    assertAccountActive(limits);
    const max = limits.entitlements.executionsPerMonth;
    const { period, resetsAt } = calendarMonth(this.deps.clock.now());
    const refused = () =>
      planLimitProblem(
        'executionsPerMonth',
        max,
        limits.plan,
        `This month's ${max} agent executions on the ${limits.plan.name} plan are used up; the count starts again on ${resetsAt.toISOString().slice(0, 10)}. Upgrade to a higher plan for more.`,
      );
    if (max <= 0) throw refused();
    const rows = rowsOf<{ count: number }>(
      await tx.execute(sql`
      insert into ${usageCounters} (user_id, metric, period, count)
      values (${userId}, ${EXECUTIONS_METRIC}, ${period}, 1)
      on conflict (user_id, metric, period)
      do update set count = ${usageCounters}.count + 1 where ${usageCounters}.count < ${max}
      returning count`),
    );
    const used = rows[0]?.count;
    if (used === undefined) throw refused();
    for (const listener of this.usageListeners) listener(userId);
    return { used: Number(used), limit: max, period, resetsAt };
  }

  /** Executions of `userId` this calendar month (UTC) against the plan's quota. */
  async executions(tx: Db, userId: string, limits?: AccountLimits): Promise<MonthlyUsage> {
    const { entitlements } = limits ?? (await this.limits(tx, userId));
    const { period, resetsAt } = calendarMonth(this.deps.clock.now());
    const [row] = await tx
      .select({ count: usageCounters.count })
      .from(usageCounters)
      .where(
        and(
          eq(usageCounters.userId, userId),
          eq(usageCounters.metric, EXECUTIONS_METRIC),
          eq(usageCounters.period, period),
        ),
      );
    return { used: row?.count ?? 0, limit: entitlements.executionsPerMonth, period, resetsAt };
  }

  /**
   * Refuses premium models on plans without them (Free).
   * @throws {ProblemError} 403 `plan_limit_reached` with `limit: 'premiumModels'`.
   */
  async requirePremiumModels(tx: Db, userId: string): Promise<void> {
    const { plan, entitlements } = await this.limits(tx, userId);
    if (!entitlements.premiumModels) {
      throw new ProblemError(
        'plan_limit_reached',
        `Premium models are not part of the ${plan.name} plan. Upgrade to use them, or pick a standard model.`,
        { upgrade: true, limit: 'premiumModels', plan: plan.id },
      );
    }
  }

  /**
   * The oldest instant whose history (executions, chats) the plan of `userId` still keeps: now minus
   * `historyRetentionDays`. Reads must not return older rows; the retention job deletes them.
   */
  async retentionCutoff(tx: Db, userId: string): Promise<Date> {
    const { entitlements } = await this.limits(tx, userId);
    return new Date(this.deps.clock.now().getTime() - entitlements.historyRetentionDays * 86_400_000);
  }
}
