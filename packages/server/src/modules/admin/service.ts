import type { AdminUser, AdminUserListQuery, AdminUserPage, AdminUserUpdate } from '@fleece/sdk/contract';
import { and, eq, ilike, or, type SQL, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { decodeCursor, encodeCursor, newestFirst, olderThan, pageOf } from '../../db/pagination.js';
import { users } from '../../db/schema/identity.js';
import { accountLimits } from '../../db/schema/plans.js';
import { enterScope, withAdmin } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import { type Entitlements, type PlanId, planOf } from '../../limits.js';
import type { AuditContext } from '../audit/service.js';
import type { AccountChangeOptions } from '../identity/account-change.js';
import { normaliseEmail, toUser, type UserRow } from '../identity/users.service.js';
import { effectiveEntitlements } from '../plans/entitlements.js';

type ListQuery = z.output<typeof AdminUserListQuery>;
type Row = { user: UserRow; limits: Record<string, number | boolean | null> | null };

/** `LIKE` pattern matching `text` literally anywhere. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function present({ user, limits }: Row): AdminUser {
  return { ...toUser(user), plan: user.plan, limits: (limits as AdminUser['limits']) ?? null };
}

/** What {@link AdminService} is built from: the services of an account change. */
export type AdminServiceOptions = AccountChangeOptions;

/**
 * Administration of accounts: listing and searching users, setting a plan or Enterprise limit overrides
 * (`admin.plan_overridden`), suspending and reinstating (`admin.user_suspended`), and the bootstrap of the
 * first admin. Every query runs in the admin row-level security scope (`withAdmin`); changes to a user's
 * own tables enter that user's scope. Each change announces `u:<userId>`, so every instance drops its
 * cached sessions, API keys and `/api/v1/me` view of the user when the change commits.
 */
export class AdminService {
  constructor(private readonly deps: AdminServiceOptions) {}

  /**
   * One page of users, newest first, filtered by `q` (a case-insensitive substring of email or name, or an
   * exact user id), `plan`, `status` and `role`.
   */
  async list(query: ListQuery): Promise<AdminUserPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'usr');
    const where: (SQL | undefined)[] = [];
    if (query.q) {
      const pattern = containing(query.q);
      where.push(or(eq(users.id, query.q), ilike(users.email, pattern), ilike(users.name, pattern)));
    }
    if (query.plan) where.push(eq(users.plan, query.plan));
    if (query.status) where.push(eq(users.status, query.status));
    if (query.role) where.push(eq(users.role, query.role));
    where.push(olderThan(users.createdAt, users.id, after));
    const rows = await withAdmin(this.deps.db, (tx) =>
      tx
        .select({ user: users, limits: accountLimits.limits })
        .from(users)
        .leftJoin(accountLimits, eq(accountLimits.userId, users.id))
        .where(and(...where))
        .orderBy(...newestFirst(users.createdAt, users.id))
        .limit(query.limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeCursor(last.user));
    return { data: page.map(present), nextCursor };
  }

  /**
   * Applies an admin's change to user `id`: `plan` and `limits` record `admin.plan_overridden`; `status`
   * records `admin.user_suspended` (for a suspension and for a reinstatement, `metadata.status` says
   * which). Suspending revokes every session and API key of the user in the same transaction. Moving a user
   * to a plan without API keys (Free) revokes their keys, since such accounts cannot hold any; to a plan
   * with fewer keys than they hold disables the newest over the limit (`metadata.keysDisabled`), and to one
   * with more enables keys a downgrade disabled (`metadata.keysEnabled`).
   *
   * @throws {ProblemError} 404 `not_found` for an unknown user; 400 `validation_failed` for Enterprise limits
   *   on another plan, or an admin suspending themselves.
   */
  async update(ctx: AuditContext, adminId: string, id: string, change: AdminUserUpdate): Promise<AdminUser> {
    if (change.status === 'suspended' && id === adminId) {
      throw new ProblemError(
        'validation_failed',
        'The request is not valid: body.status: you cannot suspend yourself.',
        {
          errors: [{ path: 'body.status', message: 'you cannot suspend yourself' }],
        },
      );
    }
    const { row, payload } = await withAdmin(this.deps.db, async (tx) => {
      const [current] = await tx.select().from(users).where(eq(users.id, id)).for('update');
      if (!current) throw new ProblemError('not_found', 'No such user.');
      await enterScope(tx, { userId: id });
      const plan: PlanId = change.plan ?? current.plan;
      if (change.limits && plan !== 'enterprise') {
        throw new ProblemError(
          'validation_failed',
          'The request is not valid: body.limits: limit overrides apply only to the Enterprise plan.',
          { errors: [{ path: 'body.limits', message: 'limit overrides apply only to the Enterprise plan' }] },
        );
      }
      const now = this.deps.clock.now();
      const set: Partial<UserRow> = {};
      if (change.plan !== undefined && change.plan !== current.plan) set.plan = change.plan;
      if (change.status !== undefined && change.status !== current.status) set.status = change.status;
      if (Object.keys(set).length > 0) {
        await tx
          .update(users)
          .set({ ...set, updatedAt: now })
          .where(eq(users.id, id));
      }
      if (change.limits !== undefined) {
        if (change.limits === null) await tx.delete(accountLimits).where(eq(accountLimits.userId, id));
        else {
          await tx
            .insert(accountLimits)
            .values({ userId: id, limits: change.limits, updatedAt: now })
            .onConflictDoUpdate({
              target: accountLimits.userId,
              set: { limits: change.limits, updatedAt: now },
            });
        }
      }
      if (change.plan !== undefined || change.limits !== undefined) {
        let keysRevoked = 0;
        let keys: { disabled: string[]; enabled: string[] } = { disabled: [], enabled: [] };
        if (planOf(plan).entitlements.apiKeys === 0) {
          keysRevoked = (await this.deps.apiKeys.revokeAllOf(tx, ctx, id, 'plan_without_api_access')).length;
        } else {
          // A lower limit disables the newest keys over it; a higher one enables disabled keys again (as a
          // Stripe plan change does; see ApiKeyService.enforceLimit).
          const [overrides] = await tx
            .select({ limits: accountLimits.limits })
            .from(accountLimits)
            .where(eq(accountLimits.userId, id));
          const limit = effectiveEntitlements(
            planOf(plan),
            (overrides?.limits as Partial<Entitlements> | undefined) ?? null,
          ).apiKeys;
          keys = await this.deps.apiKeys.enforceLimit(tx, id, limit);
        }
        await this.deps.audit.record(tx, ctx, {
          action: 'admin.plan_overridden',
          resourceType: 'user',
          resourceId: id,
          outcome: 'success',
          subjectUserId: id,
          metadata: {
            from: current.plan,
            to: plan,
            ...(change.limits !== undefined ? { limits: change.limits } : {}),
            keysRevoked,
            ...(keys.disabled.length > 0 ? { keysDisabled: keys.disabled } : {}),
            ...(keys.enabled.length > 0 ? { keysEnabled: keys.enabled } : {}),
          },
        });
      }
      if (set.status !== undefined) {
        let sessionsRevoked = 0;
        let keysRevoked = 0;
        if (set.status === 'suspended') {
          sessionsRevoked = (await this.deps.sessions.revokeAllExcept(tx, id, undefined, 'user_suspended'))
            .ids.length;
          keysRevoked = (await this.deps.apiKeys.revokeAllOf(tx, ctx, id, 'user_suspended')).length;
        }
        await this.deps.audit.record(tx, ctx, {
          action: 'admin.user_suspended',
          resourceType: 'user',
          resourceId: id,
          outcome: 'success',
          subjectUserId: id,
          metadata: { status: set.status, sessionsRevoked, keysRevoked },
        });
      }
      const [updated] = await tx
        .select({ user: users, limits: accountLimits.limits })
        .from(users)
        .leftJoin(accountLimits, eq(accountLimits.userId, users.id))
        .where(eq(users.id, id));
      return { row: updated!, payload: await this.deps.invalidations.announce(tx, `u:${id}`) };
    });
    this.deps.invalidations.afterCommit(payload);
    return present(row);
  }

  /**
   * Makes the verified or unverified account with `email` an admin (`fleece-server admin grant`).
   * @returns the user id, or `undefined` when no account has that address.
   */
  async grant(email: string): Promise<string | undefined> {
    const result = await withAdmin(this.deps.db, async (tx) => {
      const [row] = await tx
        .update(users)
        .set({ role: 'admin', updatedAt: this.deps.clock.now() })
        .where(sql`lower(${users.email}) = ${normaliseEmail(email)}`)
        .returning({ id: users.id });
      if (!row) return undefined;
      return { id: row.id, payload: await this.deps.invalidations.announce(tx, `u:${row.id}`) };
    });
    if (!result) return undefined;
    this.deps.invalidations.afterCommit(result.payload);
    return result.id;
  }

  /** The id of the account with `email`, if any. */
  async idByEmail(email: string): Promise<string | undefined> {
    const [row] = await withAdmin(this.deps.db, (tx) =>
      tx
        .select({ id: users.id })
        .from(users)
        .where(sql`lower(${users.email}) = ${normaliseEmail(email)}`),
    );
    return row?.id;
  }
}
