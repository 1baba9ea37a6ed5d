import type { AccountDeletion } from '@fleece/sdk/contract';
import { and, eq, isNull, lte, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { accountDeletions } from '../../db/schema/account-deletions.js';
import {
  authorizationCodes,
  deviceAuthorizations,
  magicLinkTokens,
  sessions,
  users,
} from '../../db/schema/identity.js';
import { enterScope, withAdmin, withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import { JOB_SCHEMA } from '../../jobs/schema.js';
import { newId } from '../../lib/secrets.js';
import { type AuditContext, SYSTEM_AUDIT_CONTEXT } from '../audit/service.js';
import type { AccountChangeOptions } from '../identity/account-change.js';
import { normaliseEmail } from '../identity/users.service.js';
import { deleteHistory } from '../retention/service.js';

/** How recently the caller must have signed in to request deletion, in ms (10 minutes). */
export const FRESH_AUTH_MAX_AGE_MS = 10 * 60_000;

/** Rows deleted per statement (and per transaction) by the purge's bulk steps. */
export const PURGE_BATCH = 500;

/** One day in ms. */
const DAY_MS = 86_400_000;

/**
 * The steps of a purge, in order. Each is idempotent: a purge that stopped after any of them (a crash, a
 * failed attempt) starts again from the first and finds the finished steps with nothing left to do.
 *
 * - `start`: marks the deletion as started (from then on it cannot be cancelled);
 * - `billing`: cancels the Stripe subscription, if any (again: the request already tried), then deletes the
 *   Stripe customer, if any, so Stripe keeps no email or user id of the account (404 there: already gone);
 * - `executions`: deletes the user's executions in batches (their stored events go with them);
 * - `conversations`: deletes the user's conversations in batches (their messages go with them);
 * - `account`: one transaction: records `account.deleted`, deletes the audit subject mapping
 *   (crypto-shredding), the address's magic-link tokens, the queued and finished jobs whose data names the
 *   user, and the user row, whose foreign keys cascade to every other table the user owns.
 */
export const PURGE_STEPS = ['start', 'billing', 'executions', 'conversations', 'account'] as const;
export type PurgeStep = (typeof PURGE_STEPS)[number];

/** What a purge run found: the account is gone now, or there was nothing to purge (yet). */
export type PurgeOutcome = 'purged' | 'not_found' | 'not_due';

/** Cancels the Stripe subscription of a user, if there is one; a no-op when billing is off. */
export type CancelSubscription = (userId: string) => Promise<void>;

/** Deletes the Stripe customer of a user, if there is one; a no-op when billing is off. */
export type DeleteBillingCustomer = (userId: string) => Promise<void>;

/** Queues the purge of a deletion to run at `startAfter` (the pg-boss job). */
export type SchedulePurge = (deletionId: string, startAfter: Date) => Promise<void>;

/** Construction options of {@link AccountDeletionService}. */
export interface AccountDeletionOptions extends AccountChangeOptions {
  log: FastifyBaseLogger;
  /** The grace period in days (`FLEECE_DELETION_GRACE_DAYS`). */
  graceDays: number;
  /** Resolved when called: the billing module may be registered after this service. */
  cancelSubscription?: () => CancelSubscription | undefined;
  /** Resolved when called, like `cancelSubscription`: used by the purge only. */
  deleteBillingCustomer?: () => DeleteBillingCustomer | undefined;
}

/** The caller of a deletion request: a session principal. */
export interface DeletionCaller {
  userId: string;
  sessionId: string;
}

/**
 * Account deletion (issue 7; docs/security.md C28, C29): the request with its grace period, cancellation,
 * and the purge that removes every row the user owns while their audit events stay, anonymised.
 *
 * While a deletion is pending the user row has status `pending_deletion`: the account may sign in again
 * (every existing credential was revoked), but every `/api/v1` route except `GET /api/v1/me`,
 * `GET /api/v1/account/deletion` and `POST /api/v1/account/deletion/cancel` answers 403
 * `account_pending_deletion` (see src/plugins/auth.ts).
 */
export class AccountDeletionService {
  private schedulePurge: SchedulePurge | undefined;

  constructor(private readonly deps: AccountDeletionOptions) {}

  /** Sets how purges are queued (the job queue wiring, src/modules/retention/plugin.ts). */
  setSchedulePurge(schedule: SchedulePurge): void {
    this.schedulePurge = schedule;
  }

  /** The purge date of deletion `deletionId`, or `undefined` when it no longer exists. */
  async purgeDate(deletionId: string): Promise<Date | undefined> {
    const [row] = await withAdmin(this.deps.db, (tx) =>
      tx
        .select({ purgeAfter: accountDeletions.purgeAfter })
        .from(accountDeletions)
        .where(eq(accountDeletions.id, deletionId)),
    );
    return row?.purgeAfter;
  }

  private view(
    status: 'active' | 'suspended' | 'pending_deletion',
    row: typeof accountDeletions.$inferSelect | undefined,
  ): AccountDeletion {
    const now = this.deps.clock.now().getTime();
    const pending = status === 'pending_deletion' && row !== undefined;
    return {
      status: pending ? 'pending_deletion' : 'active',
      requestedAt: pending ? row.requestedAt.toISOString() : null,
      purgeAfter: pending ? row.purgeAfter.toISOString() : null,
      cancellable: pending && row.purgeStartedAt === null && now < row.purgeAfter.getTime(),
      graceDays: this.deps.graceDays,
    };
  }

  /** The deletion state of `userId`'s account. */
  async status(userId: string): Promise<AccountDeletion> {
    return withUser(this.deps.db, userId, async (tx) => {
      const [row] = await tx
        .select({ status: users.status, deletion: accountDeletions })
        .from(users)
        .leftJoin(accountDeletions, eq(accountDeletions.userId, users.id))
        .where(eq(users.id, userId));
      if (!row) throw new ProblemError('unauthenticated', 'This account no longer exists.');
      return this.view(row.status, row.deletion ?? undefined);
    });
  }

  /**
   * Requests deletion of the caller's account: marks it `pending_deletion`, revokes at once every session
   * (and with them every refresh token), API key, approved device authorization and unused authorization
   * code, records `account.deletion_requested`, and (after commit) announces the change to every instance,
   * cancels the Stripe subscription if any, and queues the purge for the end of the grace period.
   *
   * @throws {ProblemError} 403 `reauthentication_required` when the caller's session was not signed in
   *   within {@link FRESH_AUTH_MAX_AGE_MS}; 409 `deletion_in_progress` when a deletion is already pending.
   */
  async request(ctx: AuditContext, caller: DeletionCaller): Promise<AccountDeletion> {
    const now = this.deps.clock.now();
    const purgeAfter = new Date(now.getTime() + this.deps.graceDays * DAY_MS);
    const result = await withUser(this.deps.db, caller.userId, async (tx) => {
      const [session] = await tx
        .select({ createdAt: sessions.createdAt })
        .from(sessions)
        .where(and(eq(sessions.id, caller.sessionId), eq(sessions.userId, caller.userId)));
      if (!session || now.getTime() - session.createdAt.getTime() > FRESH_AUTH_MAX_AGE_MS) {
        throw new ProblemError(
          'reauthentication_required',
          'Deleting the account needs a recent sign-in: sign in again (a new magic link, your provider, or `fleece login`), then ask again within 10 minutes.',
          { maxAgeSeconds: FRESH_AUTH_MAX_AGE_MS / 1000 },
        );
      }
      const [user] = await tx.select().from(users).where(eq(users.id, caller.userId)).for('update');
      if (!user) throw new ProblemError('unauthenticated', 'This account no longer exists.');
      if (user.status === 'pending_deletion') {
        throw new ProblemError(
          'deletion_in_progress',
          'This account is already scheduled for deletion. See GET /api/v1/account/deletion for the date.',
        );
      }
      const [deletion] = await tx
        .insert(accountDeletions)
        .values({ id: newId('del'), userId: user.id, requestedAt: now, purgeAfter })
        .returning();
      await tx.update(users).set({ status: 'pending_deletion', updatedAt: now }).where(eq(users.id, user.id));
      const revoked = await this.deps.sessions.revokeAllExcept(tx, user.id, undefined, 'account_deletion');
      const keys = await this.deps.apiKeys.revokeAllOf(tx, ctx, user.id, 'account_deletion');
      // Sign-ins already under way must not outlive the request either.
      await tx
        .update(deviceAuthorizations)
        .set({ status: 'denied', decidedAt: now })
        .where(and(eq(deviceAuthorizations.userId, user.id), eq(deviceAuthorizations.status, 'approved')));
      await tx
        .update(authorizationCodes)
        .set({ consumedAt: now })
        .where(and(eq(authorizationCodes.userId, user.id), isNull(authorizationCodes.consumedAt)));
      await this.deps.audit.record(tx, ctx, {
        action: 'account.deletion_requested',
        resourceType: 'user',
        resourceId: user.id,
        outcome: 'success',
        subjectUserId: user.id,
        metadata: {
          purgeAfter: purgeAfter.toISOString(),
          graceDays: this.deps.graceDays,
          sessionsRevoked: revoked.ids.length,
          keysRevoked: keys.length,
        },
      });
      const payload = await this.deps.invalidations.announce(tx, `u:${user.id}`);
      return { deletion: deletion!, payloads: [payload, revoked.payload] };
    });
    this.deps.invalidations.afterCommit(...result.payloads);
    await this.afterRequest(caller.userId, result.deletion.id, purgeAfter);
    return this.view('pending_deletion', result.deletion);
  }

  /**
   * What follows a committed request and may fail without undoing it: the subscription is cancelled
   * again by the purge, and a purge that was never queued is found by the daily sweep
   * ({@link due}). Failures are logged.
   */
  private async afterRequest(userId: string, deletionId: string, purgeAfter: Date): Promise<void> {
    try {
      await this.deps.cancelSubscription?.()?.(userId);
    } catch (error) {
      this.deps.log.warn(
        { err: error, deletionId },
        'could not cancel the subscription of a deleted account',
      );
    }
    try {
      await this.schedulePurge?.(deletionId, purgeAfter);
    } catch (error) {
      this.deps.log.warn(
        { err: error, deletionId },
        'could not queue an account purge; the daily sweep will',
      );
    }
  }

  /**
   * Cancels the pending deletion of `userId`'s account within the grace period: the account is `active`
   * again and `account.deletion_cancelled` is recorded. What the request revoked stays revoked.
   *
   * @throws {ProblemError} 409 `deletion_not_pending` when no deletion is pending; 409
   *   `deletion_in_progress` when the grace period is over (the purge may be running).
   */
  async cancel(ctx: AuditContext, userId: string): Promise<AccountDeletion> {
    const now = this.deps.clock.now();
    const payload = await withUser(this.deps.db, userId, async (tx) => {
      const [user] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
      const [deletion] = await tx
        .select()
        .from(accountDeletions)
        .where(eq(accountDeletions.userId, userId))
        .for('update');
      if (user?.status !== 'pending_deletion' || !deletion) {
        throw new ProblemError('deletion_not_pending', 'This account is not scheduled for deletion.');
      }
      if (deletion.purgeStartedAt !== null || now.getTime() >= deletion.purgeAfter.getTime()) {
        throw new ProblemError(
          'deletion_in_progress',
          `The grace period ended at ${deletion.purgeAfter.toISOString()}; the account is being deleted and can no longer be restored.`,
        );
      }
      await tx.delete(accountDeletions).where(eq(accountDeletions.id, deletion.id));
      await tx.update(users).set({ status: 'active', updatedAt: now }).where(eq(users.id, userId));
      await this.deps.audit.record(tx, ctx, {
        action: 'account.deletion_cancelled',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { requestedAt: deletion.requestedAt.toISOString() },
      });
      return this.deps.invalidations.announce(tx, `u:${userId}`);
    });
    this.deps.invalidations.afterCommit(payload);
    return this.view('active', undefined);
  }

  /**
   * Purges the account of deletion `deletionId` once its grace period is over, step by step (see
   * {@link PURGE_STEPS}). Safe to run again after a failure at any point, and concurrently with itself.
   *
   * @param options.afterStep called after each step (tests use it to stop a purge half-way).
   * @returns `purged`; `not_found` when no such deletion exists (cancelled, or purged already); `not_due`
   *   before its grace period ends.
   */
  async purge(
    deletionId: string,
    options: { afterStep?: (step: PurgeStep) => void | Promise<void> } = {},
  ): Promise<PurgeOutcome> {
    const done = async (step: PurgeStep) => options.afterStep?.(step);
    const now = this.deps.clock.now();
    const target = await withAdmin(this.deps.db, async (tx) => {
      const [row] = await tx
        .select({ deletion: accountDeletions, email: users.email, status: users.status })
        .from(accountDeletions)
        .innerJoin(users, eq(users.id, accountDeletions.userId))
        .where(eq(accountDeletions.id, deletionId))
        .for('update', { of: accountDeletions });
      if (!row) return 'not_found' as const;
      if (row.status === 'active') {
        // An administrator reinstated the account: that ends the deletion as a cancellation would.
        await tx.delete(accountDeletions).where(eq(accountDeletions.id, deletionId));
        return 'not_found' as const;
      }
      if (now.getTime() < row.deletion.purgeAfter.getTime()) return 'not_due' as const;
      if (row.deletion.purgeStartedAt === null) {
        await tx
          .update(accountDeletions)
          .set({ purgeStartedAt: now })
          .where(eq(accountDeletions.id, deletionId));
      }
      return { userId: row.deletion.userId, email: row.email };
    });
    if (typeof target === 'string') return target;
    const { userId, email } = target;
    await done('start');

    await this.deps.cancelSubscription?.()?.(userId);
    await this.deps.deleteBillingCustomer?.()?.(userId);
    await done('billing');

    await deleteHistory(this.deps.db, 'executions', userId, undefined, PURGE_BATCH);
    await done('executions');

    await deleteHistory(this.deps.db, 'conversations', userId, undefined, PURGE_BATCH);
    await done('conversations');

    const payload = await withAdmin(this.deps.db, async (tx) => {
      await enterScope(tx, { userId, email: normaliseEmail(email) });
      const [still] = await tx
        .select({ id: accountDeletions.id })
        .from(accountDeletions)
        .where(eq(accountDeletions.id, deletionId))
        .for('update');
      if (!still) return undefined;
      await this.deps.audit.record(tx, SYSTEM_AUDIT_CONTEXT, {
        action: 'account.deleted',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { deletion: deletionId },
      });
      await this.deps.audit.forgetSubject(tx, userId);
      await tx.delete(magicLinkTokens).where(sql`lower(${magicLinkTokens.email}) = ${normaliseEmail(email)}`);
      // Queued and finished jobs of other features (webhook deliveries, flow runs) may name the user in
      // their data or result; pg-boss keeps finished ones for days. None may outlive the account.
      await tx.execute(sql`delete from ${sql.raw(JOB_SCHEMA)}.job
        where strpos(data::text, ${JSON.stringify(userId)}) > 0
           or strpos(lower(data::text), ${normaliseEmail(email)}) > 0
           or strpos(coalesce(output::text, ''), ${JSON.stringify(userId)}) > 0`);
      await tx.execute(sql`delete from ${sql.raw(JOB_SCHEMA)}.schedule
        where strpos(data::text, ${JSON.stringify(userId)}) > 0
           or strpos(lower(data::text), ${normaliseEmail(email)}) > 0`);
      // Every other table the user owns references users(id) ON DELETE CASCADE.
      await tx.delete(users).where(eq(users.id, userId));
      return this.deps.invalidations.announce(tx, `u:${userId}`);
    });
    if (payload) this.deps.invalidations.afterCommit(payload);
    await done('account');
    return 'purged';
  }

  /**
   * The ids of pending deletions whose grace period is over, oldest first, at most `limit` (the daily job
   * queues a purge for each; normally their own queued job already ran).
   */
  async due(limit = 1_000): Promise<string[]> {
    const rows = await withAdmin(this.deps.db, (tx) =>
      tx
        .select({ id: accountDeletions.id })
        .from(accountDeletions)
        .where(lte(accountDeletions.purgeAfter, this.deps.clock.now()))
        .orderBy(accountDeletions.purgeAfter)
        .limit(limit),
    );
    return rows.map((r) => r.id);
  }
}
