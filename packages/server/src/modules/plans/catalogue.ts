/**
 * The plan table (docs/security.md, "Plans and entitlements"), as one typed constant: what each plan allows. Enterprise values may be
 * overridden per account (`account_limits`, set by an admin; see entitlements.ts `effectiveEntitlements`);
 * everything else reads limits from here.
 */

/** Plan identifiers, as stored in `users.plan`. */
export type PlanId = 'free' | 'pro' | 'business' | 'enterprise';

/**
 * What a plan allows.
 *
 * - `apiKeys`: API keys a user may hold at once;
 * - `agents`: agents a user may own;
 * - `executionsPerMonth`: agent executions per calendar month (UTC);
 * - `historyRetentionDays`: days executions and chats are kept;
 * - `premiumModels`: whether premium AI models may be used;
 * - `apiBurstPerMinute` / `apiPerDay`: requests through all of a user's API keys together, per minute and
 *   per day; `null` where the plan has no API access.
 */
export interface Entitlements {
  apiKeys: number;
  agents: number;
  executionsPerMonth: number;
  historyRetentionDays: number;
  premiumModels: boolean;
  apiBurstPerMinute: number | null;
  apiPerDay: number | null;
}

/** One plan: its display name and entitlements. */
export interface Plan {
  id: PlanId;
  name: string;
  entitlements: Entitlements;
}

/** Every plan, by id (docs/security.md, "Plans and entitlements"). */
export const PLANS: Readonly<Record<PlanId, Plan>> = {
  free: {
    id: 'free',
    name: 'Free',
    entitlements: {
      apiKeys: 0,
      agents: 1,
      executionsPerMonth: 50,
      historyRetentionDays: 7,
      premiumModels: false,
      apiBurstPerMinute: null,
      apiPerDay: null,
    },
  },
  pro: {
    id: 'pro',
    name: 'Pro',
    entitlements: {
      apiKeys: 5,
      agents: 10,
      executionsPerMonth: 2_000,
      historyRetentionDays: 30,
      premiumModels: true,
      apiBurstPerMinute: 60,
      apiPerDay: 5_000,
    },
  },
  business: {
    id: 'business',
    name: 'Business',
    entitlements: {
      apiKeys: 10,
      agents: 50,
      executionsPerMonth: 20_000,
      historyRetentionDays: 90,
      premiumModels: true,
      apiBurstPerMinute: 300,
      apiPerDay: 50_000,
    },
  },
  enterprise: {
    id: 'enterprise',
    name: 'Enterprise',
    entitlements: {
      apiKeys: 25,
      agents: 500,
      executionsPerMonth: 200_000,
      historyRetentionDays: 365,
      premiumModels: true,
      apiBurstPerMinute: 1_000,
      apiPerDay: 500_000,
    },
  },
};

/** The plan with id `id`. */
export function planOf(id: PlanId): Plan {
  return PLANS[id];
}
