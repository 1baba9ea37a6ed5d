import type { MeResponse } from '@fleece/sdk/contract';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { InvalidatingCache, type Invalidations } from '../../db/invalidation.js';
import { apiKeys } from '../../db/schema/api-keys.js';
import { sessions, users } from '../../db/schema/identity.js';
import { accountLimits, usageCounters } from '../../db/schema/plans.js';
import { withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { planOf } from '../../limits.js';
import { SESSION_TIMEOUTS } from '../identity/sessions.service.js';
import { toUser } from '../identity/users.service.js';
import { calendarMonth, EXECUTIONS_METRIC, effectiveEntitlements } from './entitlements.js';

/**
 * How long one account's `/api/v1/me` view is reused, in ms. Changes to the user, the plan, the limits and
 * the API keys drop it on every instance at once (NOTIFY); counts that change on every use (sessions
 * signed in elsewhere, executions on another instance) are at most this old.
 */
export const ME_CACHE_TTL_MS = 2_000;
const ME_CACHE_MAX = 50_000;

/** A usage measure that lives in another module's tables (agents, from the AI platform). */
export type UsageCounter = (tx: Db, userId: string) => Promise<number>;

/** What {@link MeService} is built from (its dependencies and settings). */
export interface MeServiceOptions {
  db: Db;
  clock: Clock;
  invalidations: Invalidations;
}

/**
 * `GET /api/v1/me`: the account, its plan and entitlements, and its usage against each limit.
 *
 * The view is served from a per-instance cache (this is the hot path of every client start-up and of the
 * API-key benchmark): one scoped read on a miss, none on a hit. Invalidation: `u:<userId>` (user, plan,
 * limits) and `m:<userId>` (keys created or revoked) on the shared invalidation channel drop the entry on
 * every instance when their transaction commits; executions counted on this instance drop it at once
 * ({@link EntitlementsService.onUsageChange}); anything else is at most {@link ME_CACHE_TTL_MS} old. No
 * NOTIFY is sent per execution: PostgreSQL serialises the commits of notifying transactions, which would
 * cost every execution more than a two-second lag in a counter costs anyone.
 */
export class MeService {
  private readonly cache: InvalidatingCache<MeResponse>;
  private readonly counters = new Map<'agents', UsageCounter>();

  constructor(private readonly deps: MeServiceOptions) {
    const { invalidations, clock } = deps;
    this.cache = new InvalidatingCache<MeResponse>({
      ttlMs: ME_CACHE_TTL_MS,
      max: ME_CACHE_MAX,
      clock,
      matches: (payload, userId) => {
        const kind = payload.slice(0, 2);
        if (kind === 'u:' || kind === 'm:') return payload.slice(2) === userId;
        return kind !== 's:' && kind !== 'k:';
      },
    });
    invalidations.subscribe(this.cache);
  }

  /**
   * Adds a usage measure to `/api/v1/me` (`usage.agents`: `{ used: count(tx, userId), limit }`). The AI
   * platform registers its agent count here; until then the field is absent.
   */
  registerCounter(name: 'agents', count: UsageCounter): void {
    this.counters.set(name, count);
  }

  /** Drops the cached view of `userId` on this instance. */
  forget(userId: string): void {
    this.cache.delete(userId);
  }

  /**
   * The `/api/v1/me` view of `userId` (without `usage.apiRequests`, which the rate limiter adds per
   * request). @returns `undefined` when the user no longer exists.
   */
  get(userId: string): Promise<MeResponse | undefined> {
    return this.cache.load(userId, () => this.read(userId));
  }

  private async read(userId: string): Promise<MeResponse | undefined> {
    const now = this.deps.clock.now();
    const { period, resetsAt } = calendarMonth(now);
    const browserIdleCut = new Date(now.getTime() - SESSION_TIMEOUTS.browser.idleMs).toISOString();
    const cliIdleCut = new Date(now.getTime() - SESSION_TIMEOUTS.cli.idleMs).toISOString();
    const iso = now.toISOString();
    return withUser(this.deps.db, userId, async (tx) => {
      const [row] = await tx
        .select({
          user: users,
          overrides: accountLimits.limits,
          activeSessions: sql<number>`(select count(*)::int from ${sessions} where ${sessions.userId} = ${userId}
            and ${sessions.revokedAt} is null and ${sessions.absoluteExpiresAt} > ${iso}::timestamptz
            and ${sessions.lastUsedAt} > case ${sessions.kind} when 'browser' then ${browserIdleCut}::timestamptz
              else ${cliIdleCut}::timestamptz end)`,
          apiKeys: sql<number>`(select count(*)::int from ${apiKeys} where ${apiKeys.userId} = ${userId}
            and ${apiKeys.revokedAt} is null and ${apiKeys.disabledAt} is null)`,
          executions: sql<number>`(select coalesce(max(${usageCounters.count}), 0)::int from ${usageCounters}
            where ${usageCounters.userId} = ${userId} and ${usageCounters.metric} = ${EXECUTIONS_METRIC}
            and ${usageCounters.period} = ${period})`,
        })
        .from(users)
        .leftJoin(accountLimits, eq(accountLimits.userId, users.id))
        .where(eq(users.id, userId));
      if (!row) return undefined;
      const plan = planOf(row.user.plan);
      const entitlements = effectiveEntitlements(plan, row.overrides ?? null);
      const agents = this.counters.get('agents');
      return {
        user: toUser(row.user),
        plan: { id: plan.id, name: plan.name },
        entitlements,
        usage: {
          activeSessions: Number(row.activeSessions),
          apiKeys: { used: Number(row.apiKeys), limit: entitlements.apiKeys },
          ...(agents ? { agents: { used: await agents(tx, userId), limit: entitlements.agents } } : {}),
          executions: {
            used: Number(row.executions),
            limit: entitlements.executionsPerMonth,
            period,
            resetsAt: resetsAt.toISOString(),
          },
        },
      };
    });
  }
}
