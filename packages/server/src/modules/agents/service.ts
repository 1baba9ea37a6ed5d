import type { Agent, AgentPage, CreateAgentRequest, UpdateAgentRequest } from '@fleece/sdk/contract';
import { and, count, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { decodeCursor, encodeCursor } from '../../db/pagination.js';
import { agents } from '../../db/schema/ai.js';
import { flows } from '../../db/schema/flows.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/secrets.js';
import type { ModelService } from '../ai/models/service.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { EntitlementsService } from '../plans/entitlements.js';

type AgentRow = typeof agents.$inferSelect;

/** The wire form of an agent row. */
export function presentAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    instructions: row.instructions,
    model: row.model,
    temperature: row.temperature,
    maxOutputTokens: row.maxOutputTokens,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What an {@link AgentService} needs. */
export interface AgentServiceOptions {
  db: Db;
  clock: Clock;
  audit: AuditService;
  entitlements: EntitlementsService;
  models: ModelService;
}

/**
 * Agents: CRUD within the plan's agent count (Free 1, Pro 10, Business 50, Enterprise 500), each change
 * audited (`agent.created`, `agent.updated`, `agent.deleted`) in its own transaction, every query in the
 * owner's row-level security scope. A model named on an agent must be offered and allowed by the plan.
 * Another user's agent is indistinguishable from a missing one (`undefined` / `false`).
 */
export class AgentService {
  constructor(private readonly deps: AgentServiceOptions) {}

  /** How many agents `userId` holds (for the plan limit and `/api/v1/me`). */
  count(tx: Db, userId: string): Promise<number> {
    return tx
      .select({ n: count() })
      .from(agents)
      .where(eq(agents.userId, userId))
      .then(([row]) => Number(row?.n ?? 0));
  }

  private async checkModel(tx: Db, userId: string, model: string | null | undefined): Promise<void> {
    if (model === null || model === undefined) return;
    this.deps.models.assertModelAllowed(await this.deps.entitlements.limits(tx, userId), model);
  }

  /**
   * Creates an agent for `userId` and records `agent.created`.
   * @throws {ProblemError} 403 `plan_limit_reached` (`limit: 'agents'` or `'premiumModels'`), 400
   *   `unknown_model`.
   */
  async create(ctx: AuditContext, userId: string, input: CreateAgentRequest): Promise<Agent> {
    const now = this.deps.clock.now();
    const row = await withUser(this.deps.db, userId, async (tx) => {
      await this.deps.entitlements.reserve(tx, userId, 'agents', (t) => this.count(t, userId));
      await this.checkModel(tx, userId, input.model);
      const [row] = await tx
        .insert(agents)
        .values({
          id: newId('agt'),
          userId,
          name: input.name,
          description: input.description ?? '',
          instructions: input.instructions ?? '',
          model: input.model ?? null,
          temperature: input.temperature ?? null,
          maxOutputTokens: input.maxOutputTokens ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      // Names and prompts are the user's free text: they stay out of the insert-only log.
      await this.deps.audit.record(tx, ctx, {
        action: 'agent.created',
        resourceType: 'agent',
        resourceId: row!.id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { model: row!.model },
      });
      return row!;
    });
    return presentAgent(row);
  }

  /** One page of `userId`'s agents, newest first. */
  async list(userId: string, limit: number, cursor: string | undefined): Promise<AgentPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'agt');
    const rows = await withUser(this.deps.db, userId, (tx) =>
      tx
        .select()
        .from(agents)
        .where(
          and(
            eq(agents.userId, userId),
            after
              ? or(
                  lt(agents.createdAt, after[0]),
                  and(eq(agents.createdAt, after[0]), lt(agents.id, after[1])),
                )
              : undefined,
          ),
        )
        .orderBy(desc(agents.createdAt), desc(agents.id))
        .limit(limit + 1),
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map(presentAgent),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
    };
  }

  /** Agent `id` of `userId` as a row, inside `tx`; `undefined` when `userId` has none. */
  async find(tx: Db, userId: string, id: string): Promise<AgentRow | undefined> {
    const [row] = await tx
      .select()
      .from(agents)
      .where(and(eq(agents.id, id), eq(agents.userId, userId)));
    return row;
  }

  /** Agent `id` of `userId`; `undefined` when `userId` has none (another user's included). */
  async get(userId: string, id: string): Promise<Agent | undefined> {
    const row = await withUser(this.deps.db, userId, (tx) => this.find(tx, userId, id));
    return row && presentAgent(row);
  }

  /**
   * Changes the fields of `patch` on agent `id` of `userId` and records `agent.updated` (naming the fields).
   * @returns `undefined` when `userId` has no agent `id`.
   * @throws {ProblemError} as {@link create} for a model the plan does not allow.
   */
  async update(
    ctx: AuditContext,
    userId: string,
    id: string,
    patch: UpdateAgentRequest,
  ): Promise<Agent | undefined> {
    const row = await withUser(this.deps.db, userId, async (tx) => {
      const [current] = await tx
        .select({ id: agents.id })
        .from(agents)
        .where(and(eq(agents.id, id), eq(agents.userId, userId)))
        .for('update');
      if (!current) return undefined;
      await this.checkModel(tx, userId, patch.model);
      const [row] = await tx
        .update(agents)
        .set({ ...patch, updatedAt: this.deps.clock.now() })
        .where(and(eq(agents.id, id), eq(agents.userId, userId)))
        .returning();
      await this.deps.audit.record(tx, ctx, {
        action: 'agent.updated',
        resourceType: 'agent',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { fields: Object.keys(patch).sort() },
      });
      return row;
    });
    return row && presentAgent(row);
  }

  /**
   * Deletes agent `id` of `userId` and records `agent.deleted`. Its executions stay (with `agentId: null`).
   * An agent that a step of one of the user's flows runs is not deleted (every run of that flow would fail):
   * the agent row is locked, then the flows are looked up in the same transaction.
   * @returns `false` when `userId` has no agent `id`.
   * @throws {ProblemError} 409 `agent_in_use` with `flows` (`{ id, name }[]`, oldest first) naming the flows
   * whose steps use it; change or delete them first.
   */
  async delete(ctx: AuditContext, userId: string, id: string): Promise<boolean> {
    return withUser(this.deps.db, userId, async (tx) => {
      const [locked] = await tx
        .select({ id: agents.id })
        .from(agents)
        .where(and(eq(agents.id, id), eq(agents.userId, userId)))
        .for('update');
      if (!locked) return false;
      const using = await tx
        .select({ id: flows.id, name: flows.name })
        .from(flows)
        .where(
          and(eq(flows.userId, userId), sql`${flows.steps} @> ${JSON.stringify([{ agentId: id }])}::jsonb`),
        )
        .orderBy(flows.createdAt, flows.id);
      if (using.length > 0) {
        const named = using.map((f) => f.id).join(', ');
        throw new ProblemError(
          'agent_in_use',
          `Agent ${id} is used by ${using.length === 1 ? 'flow' : `${using.length} flows`} ${named}. Change their steps to another agent (PATCH /api/v1/flows/:id) or delete those flows, then delete the agent.`,
          { flows: using },
        );
      }
      const deleted = await tx
        .delete(agents)
        .where(and(eq(agents.id, id), eq(agents.userId, userId)))
        .returning({ id: agents.id });
      if (deleted.length === 0) return false;
      await this.deps.audit.record(tx, ctx, {
        action: 'agent.deleted',
        resourceType: 'agent',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
      });
      return true;
    });
  }
}
