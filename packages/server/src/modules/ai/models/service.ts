import type { Model, ModelList } from '@fleece/sdk/contract';
import { eq } from 'drizzle-orm';
import type { Db } from '../../../db/client.js';
import { users } from '../../../db/schema/identity.js';
import { withUser } from '../../../db/tenant.js';
import { ProblemError } from '../../../errors.js';
import { type Entitlements, type Plan, type PlanId, planOf } from '../../../limits.js';
import type { ModelInfo } from './catalogue.js';

/**
 * What decides which models an account may use: its plan and the entitlements in force (the plan's, with
 * Enterprise overrides applied where an account has them).
 */
export interface AccountPlan {
  plan: Plan;
  entitlements: Entitlements;
}

/** What {@link ModelService} is built from. */
export interface ModelServiceOptions {
  db: Db;
  /** The models this server offers, in listing order. */
  offered: readonly ModelInfo[];
  /** The model used when a request names none; one of `offered`. */
  defaultModel: string;
}

/**
 * Which models a user may use (claim C11: premium models are gated by plan). A model is offered when its
 * provider is configured (see `offeredModels`); it is allowed when it is `standard`, or `premium` on a plan
 * with premium models.
 */
export class ModelService {
  readonly #byId: ReadonlyMap<string, ModelInfo>;

  private readonly db: Db;
  /** The models this server offers, in listing order. */
  readonly offered: readonly ModelInfo[];
  /** The model used when a request names none; one of `offered`. */
  readonly defaultModel: string;

  constructor({ db, offered, defaultModel }: ModelServiceOptions) {
    this.db = db;
    this.offered = offered;
    this.defaultModel = defaultModel;
    this.#byId = new Map(offered.map((m) => [m.id, m]));
  }

  /** The offered model `id`, or `undefined`. */
  find(id: string): ModelInfo | undefined {
    return this.#byId.get(id);
  }

  /** Whether `account` may use `model`: standard models always, premium ones with `premiumModels`. */
  allows(account: AccountPlan, model: ModelInfo): boolean {
    return model.tier === 'standard' || account.entitlements.premiumModels;
  }

  /** Every offered model, with whether `account` may use it. */
  list(account: AccountPlan): Model[] {
    return this.offered.map((m) => ({
      id: m.id,
      displayName: m.displayName,
      provider: m.provider,
      tier: m.tier,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      allowed: this.allows(account, m),
    }));
  }

  /**
   * `GET /api/v1/models` for user `userId`: the offered models, as the user's plan allows them.
   * @returns `undefined` when the user no longer exists.
   */
  async listFor(userId: string): Promise<ModelList | undefined> {
    const account = await this.accountPlan(userId);
    return account && { data: this.list(account), defaultModel: this.defaultModel };
  }

  /**
   * The plan of user `userId` and its entitlements, or `undefined` when there is no such user. Runs in the
   * user's row-level security scope, or inside `tx` when given (which must already be in that scope).
   */
  async accountPlan(userId: string, tx?: Db): Promise<AccountPlan | undefined> {
    const query = async (t: Db) => {
      const [row] = await t.select({ plan: users.plan }).from(users).where(eq(users.id, userId));
      if (!row) return undefined;
      const plan = planOf(row.plan as PlanId);
      return { plan, entitlements: plan.entitlements };
    };
    return tx ? query(tx) : withUser(this.db, userId, query);
  }

  /**
   * The model a request of `account` may run: `modelId`, or the default model when it is omitted.
   *
   * @throws {ProblemError} `unknown_model` (400) when this server offers no such model;
   *   `plan_limit_reached` (403, `upgrade: true`, `limit: 'premiumModels'`) for a premium model on a plan
   *   without premium models.
   */
  assertModelAllowed(account: AccountPlan, modelId: string = this.defaultModel): ModelInfo {
    const model = this.#byId.get(modelId);
    if (!model) {
      throw new ProblemError(
        'unknown_model',
        `This server offers no model ${JSON.stringify(modelId.slice(0, 100))}. GET /api/v1/models lists the models you can use.`,
      );
    }
    if (!this.allows(account, model)) {
      throw new ProblemError(
        'plan_limit_reached',
        `${model.displayName} is a premium model, and the ${account.plan.name} plan does not include premium models. Upgrade to Pro or above, or choose a standard model.`,
        { upgrade: true, limit: 'premiumModels', plan: account.plan.id, model: model.id },
      );
    }
    return model;
  }
}
