import {
  type ApiKey,
  type ApiKeyPage,
  type ApiKeyScope,
  type CreatedApiKey,
  DEFAULT_API_KEY_EXPIRY_DAYS,
  DEFAULT_API_KEY_SCOPES,
} from '@fleece/sdk/contract';
import { and, count, desc, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { InvalidatingCache, type Invalidations } from '../../db/invalidation.js';
import { decodeCursor, encodeCursor, newestFirst, olderThan, pageOf } from '../../db/pagination.js';
import { apiKeys } from '../../db/schema/api-keys.js';
import { users } from '../../db/schema/identity.js';
import { accountLimits } from '../../db/schema/plans.js';
import { enterScope, withScope, withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { hashSecret, newId } from '../../lib/secrets.js';
import { planOf } from '../../limits.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import { type EntitlementsService, effectiveEntitlements } from '../plans/entitlements.js';
import { generateApiKey, isWellFormedApiKey } from './format.js';
import { LastUsedTracker } from './last-used.js';

/** How long a verified key is cached per instance, in ms; revocation reaches every instance sooner. */
export const API_KEY_CACHE_TTL_MS = 60_000;
const API_KEY_CACHE_MAX = 50_000;

type ApiKeyRow = typeof apiKeys.$inferSelect;

/** What authentication knows about a key, as cached (keyed by the key's hash). */
export interface ApiKeyState {
  keyId: string;
  userId: string;
  scopes: readonly ApiKeyScope[];
  /** ms since the epoch; `null` when the key does not expire. */
  expiresAt: number | null;
  revoked: boolean;
  /** Disabled by a plan downgrade (see {@link ApiKeyService.enforceLimit}): refused until enabled again. */
  disabled: boolean;
  role: 'user' | 'admin';
  userStatus: 'active' | 'suspended' | 'pending_deletion';
  /** The plan's API request limits (Enterprise overrides applied); `null` without API access. */
  apiLimits: { perMinute: number | null; perDay: number | null };
}

/** The outcome of presenting a key. */
export type ApiKeyVerdict =
  | { ok: true; state: ApiKeyState }
  | { ok: false; reason: 'invalid' | 'revoked' | 'inactive' | 'disabled' }
  | { ok: false; reason: 'expired'; state: ApiKeyState };

/** Input of {@link ApiKeyService.create}: the validated body of `POST /api/v1/api-keys`. */
export interface NewApiKey {
  name: string;
  scopes?: readonly ApiKeyScope[] | undefined;
  /** Days (1–365), an absolute ISO 8601 time, `null` for never; omitted, `DEFAULT_API_KEY_EXPIRY_DAYS`. */
  expiresIn?: number | string | null | undefined;
}

/** What {@link ApiKeyService} is built from (its dependencies and settings). */
export interface ApiKeyServiceOptions {
  db: Db;
  clock: Clock;
  audit: AuditService;
  entitlements: EntitlementsService;
  invalidations: Invalidations;
  /** Told when recording the last use of keys fails (it is retried; requests are not affected). */
  onError: (error: unknown) => void;
}

/**
 * API keys: creation (within the plan's limit, under a per-account lock), listing, revocation, and the
 * verification behind every `Authorization: Bearer flc_…` request.
 *
 * Verification hashes the presented key and looks it up by that hash (never by comparing strings), in the
 * row-level security scope of that hash: it can only ever see the one row the key names. The result is
 * cached per instance for {@link API_KEY_CACHE_TTL_MS}, keyed by the hash; a revocation (or a change to the
 * user) is announced on the shared invalidation channel inside its transaction, so every instance drops the
 * entry when it commits. Last use is recorded by {@link LastUsedTracker}: at most one write per key per
 * minute, never on the request path.
 */
export class ApiKeyService {
  /** Records last use, batched per instance (see {@link LastUsedTracker}). */
  readonly lastUsed: LastUsedTracker;
  private readonly cache: InvalidatingCache<ApiKeyState>;

  constructor(private readonly deps: ApiKeyServiceOptions) {
    const { onError, db, clock, invalidations } = deps;
    this.cache = new InvalidatingCache<ApiKeyState>({
      ttlMs: API_KEY_CACHE_TTL_MS,
      max: API_KEY_CACHE_MAX,
      clock,
      matches: (payload, _hash, state) => {
        const kind = payload.slice(0, 2);
        if (kind === 'k:') return payload.slice(2) === state.keyId;
        if (kind === 'u:') return payload.slice(2) === state.userId;
        return kind !== 's:' && kind !== 'm:';
      },
    });
    invalidations.subscribe(this.cache);
    this.lastUsed = new LastUsedTracker({ db, clock, onError });
  }

  /**
   * Checks a presented key. A malformed key or a wrong checksum is refused before any lookup; otherwise the
   * key's state comes from the cache or from one scoped read (the key row by hash, then its user).
   */
  async verify(presented: string): Promise<ApiKeyVerdict> {
    if (!isWellFormedApiKey(presented)) return { ok: false, reason: 'invalid' };
    const hash = hashSecret(presented);
    const state = await this.cache.load(hash, () => this.read(hash));
    if (!state) return { ok: false, reason: 'invalid' };
    if (state.revoked) return { ok: false, reason: 'revoked' };
    if (state.userStatus !== 'active') return { ok: false, reason: 'inactive' };
    if (state.disabled) return { ok: false, reason: 'disabled' };
    if (state.expiresAt !== null && this.deps.clock.now().getTime() >= state.expiresAt) {
      return { ok: false, reason: 'expired', state };
    }
    return { ok: true, state };
  }

  private read(hash: string): Promise<ApiKeyState | undefined> {
    return withScope(this.deps.db, { credential: hash }, async (tx) => {
      const [key] = await tx
        .select({
          id: apiKeys.id,
          userId: apiKeys.userId,
          scopes: apiKeys.scopes,
          expiresAt: apiKeys.expiresAt,
          revokedAt: apiKeys.revokedAt,
          disabledAt: apiKeys.disabledAt,
        })
        .from(apiKeys)
        .where(eq(apiKeys.keyHash, hash));
      if (!key) return undefined;
      // The key names its owner; only now may the transaction see that user's row.
      await enterScope(tx, { userId: key.userId });
      const [user] = await tx
        .select({ role: users.role, status: users.status, plan: users.plan, overrides: accountLimits.limits })
        .from(users)
        .leftJoin(accountLimits, eq(accountLimits.userId, users.id))
        .where(eq(users.id, key.userId));
      if (!user) return undefined;
      const entitlements = effectiveEntitlements(planOf(user.plan), user.overrides ?? null);
      return {
        keyId: key.id,
        userId: key.userId,
        scopes: key.scopes as ApiKeyScope[],
        expiresAt: key.expiresAt?.getTime() ?? null,
        revoked: key.revokedAt !== null,
        disabled: key.disabledAt !== null,
        role: user.role,
        userStatus: user.status,
        apiLimits: { perMinute: entitlements.apiBurstPerMinute, perDay: entitlements.apiPerDay },
      };
    });
  }

  /** The wire form of a key row at `now`. */
  private present(row: ApiKeyRow, now: Date): ApiKey {
    return {
      id: row.id,
      name: row.name,
      start: row.start,
      scopes: row.scopes as ApiKeyScope[],
      status: row.disabledAt ? 'disabled' : row.expiresAt && row.expiresAt <= now ? 'expired' : 'active',
      expiresAt: row.expiresAt?.toISOString() ?? null,
      lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
      lastUsedIp: row.lastUsedIp,
      createdAt: row.createdAt.toISOString(),
    };
  }

  /**
   * When a key created now with `expiresIn` expires: in `DEFAULT_API_KEY_EXPIRY_DAYS` days when omitted,
   * never for `null`. @throws {ProblemError} for a time not in the future.
   */
  private expiryOf(expiresIn: number | string | null | undefined, now: Date): Date | null {
    if (expiresIn === null) return null;
    if (expiresIn === undefined) return new Date(now.getTime() + DEFAULT_API_KEY_EXPIRY_DAYS * 86_400_000);
    if (typeof expiresIn === 'number') return new Date(now.getTime() + expiresIn * 86_400_000);
    const at = new Date(expiresIn);
    if (at.getTime() <= now.getTime()) {
      throw new ProblemError(
        'validation_failed',
        'The request is not valid: body.expiresIn: must lie in the future.',
        {
          errors: [{ path: 'body.expiresIn', message: 'must lie in the future' }],
        },
      );
    }
    return at;
  }

  /**
   * Keys of `userId` that are neither revoked nor disabled (expired ones count until revoked: they are still
   * held; disabled ones do not: they cannot be used).
   */
  private countActive(tx: Db, userId: string): Promise<number> {
    return tx
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), isNull(apiKeys.disabledAt)))
      .then(([row]) => Number(row?.n ?? 0));
  }

  /**
   * Creates a key for `userId` within the plan's limit (Free 0, Pro 5, Business 10, Enterprise 25, counting
   * keys that are not revoked) and records `api_key.created`. The account row is locked for the check and
   * the insert, so parallel creations can never exceed the limit. A refusal records `api_key.created` with
   * outcome `denied`.
   *
   * @returns the key's record and its plaintext, which is never stored, logged or shown again.
   * @throws {ProblemError} 403 `plan_limit_reached` (`upgrade: true`, `limit: 'apiKeys'`); 400
   *   `validation_failed` for an expiry time that is not in the future.
   */
  async create(ctx: AuditContext, userId: string, input: NewApiKey): Promise<CreatedApiKey> {
    const now = this.deps.clock.now();
    const expiresAt = this.expiryOf(input.expiresIn, now);
    // Least privilege: a key that names no scopes may only read (the contract's one default).
    const scopes = input.scopes?.length ? [...input.scopes] : [...DEFAULT_API_KEY_SCOPES];
    const generated = generateApiKey();
    try {
      const { row, payload } = await withUser(this.deps.db, userId, async (tx) => {
        await this.deps.entitlements.reserve(tx, userId, 'apiKeys', (t) => this.countActive(t, userId));
        const [row] = await tx
          .insert(apiKeys)
          .values({
            id: newId('key'),
            userId,
            name: input.name,
            keyHash: generated.hash,
            start: generated.start,
            scopes,
            expiresAt,
            createdAt: now,
          })
          .returning();
        await this.deps.audit.record(tx, ctx, {
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: row!.id,
          outcome: 'success',
          subjectUserId: userId,
          // The name is the user's free text (it could hold an address): it stays out of the insert-only log.
          metadata: { scopes, expiresAt: expiresAt?.toISOString() ?? null },
        });
        return { row: row!, payload: await this.deps.invalidations.announce(tx, `m:${userId}`) };
      });
      this.deps.invalidations.afterCommit(payload);
      return { ...this.present(row, now), key: generated.key };
    } catch (error) {
      if (error instanceof ProblemError && error.code === 'plan_limit_reached') {
        await this.deps.audit.recordDetached(
          ctx,
          {
            action: 'api_key.created',
            resourceType: 'api_key',
            outcome: 'denied',
            subjectUserId: userId,
            metadata: { reason: 'plan_limit_reached', limit: error.extras.max ?? null },
          },
          { throttleKey: `api_key.created.denied:${userId}` },
        );
      }
      throw error;
    }
  }

  /** One page of `userId`'s keys that are not revoked, newest first. */
  async list(userId: string, limit: number, cursor: string | undefined): Promise<ApiKeyPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'key');
    const now = this.deps.clock.now();
    const rows = await withUser(this.deps.db, userId, (tx) =>
      tx
        .select()
        .from(apiKeys)
        .where(
          and(
            eq(apiKeys.userId, userId),
            isNull(apiKeys.revokedAt),
            olderThan(apiKeys.createdAt, apiKeys.id, after),
          ),
        )
        .orderBy(...newestFirst(apiKeys.createdAt, apiKeys.id))
        .limit(limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, limit, encodeCursor);
    return { data: page.map((r) => this.present(r, now)), nextCursor };
  }

  /**
   * Revokes key `id` of `userId` (idempotent) and records `api_key.revoked` the first time. The revocation
   * is announced inside its transaction: every instance refuses the key from the moment it commits.
   * @returns `false` when `userId` has no key `id` (another user's key included: the caller answers 404).
   */
  async revoke(ctx: AuditContext, userId: string, id: string): Promise<boolean> {
    const result = await withUser(this.deps.db, userId, async (tx) => {
      const [row] = await tx
        .select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId)))
        .for('update');
      if (!row) return { found: false, payloads: [] };
      if (row.revokedAt) return { found: true, payloads: [] };
      await tx
        .update(apiKeys)
        .set({ revokedAt: this.deps.clock.now() })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId)));
      await this.deps.audit.record(tx, ctx, {
        action: 'api_key.revoked',
        resourceType: 'api_key',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { reason: 'revoked_by_user' },
      });
      return {
        found: true,
        payloads: [
          await this.deps.invalidations.announce(tx, `k:${id}`),
          await this.deps.invalidations.announce(tx, `m:${userId}`),
        ],
      };
    });
    this.deps.invalidations.afterCommit(...result.payloads);
    return result.found;
  }

  /**
   * Inside `tx` (in `userId`'s scope): revokes every key of `userId` that is not revoked yet, recording
   * `api_key.revoked` with `reason` for each. The caller announces `u:<userId>` (which drops every cached
   * key of the user on every instance) in the same transaction.
   * @returns the ids revoked.
   */
  async revokeAllOf(tx: Db, ctx: AuditContext, userId: string, reason: string): Promise<string[]> {
    const rows = await tx
      .update(apiKeys)
      .set({ revokedAt: this.deps.clock.now() })
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    for (const { id } of rows) {
      await this.deps.audit.record(tx, ctx, {
        action: 'api_key.revoked',
        resourceType: 'api_key',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
        metadata: { reason },
      });
    }
    return rows.map((r) => r.id);
  }

  /**
   * Inside `tx` (in `userId`'s scope, with the account row locked): makes the usable keys of `userId` fit
   * `limit` after a plan change. With more usable keys than `limit`, the newest are disabled (`disabledAt`;
   * they answer 403 `api_key_disabled`); with room to spare, disabled keys are enabled again, oldest first,
   * up to `limit`. Revoked keys are never touched. The caller records the change (the ids returned) and
   * announces `u:<userId>` in the same transaction, which drops every cached key of the user everywhere.
   *
   * @returns the ids disabled (newest first) and enabled (oldest first); both empty when nothing changed.
   */
  async enforceLimit(
    tx: Db,
    userId: string,
    limit: number,
  ): Promise<{ disabled: string[]; enabled: string[] }> {
    const held = await tx
      .select({ id: apiKeys.id, disabledAt: apiKeys.disabledAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .for('update');
    const usable = held.filter((k) => k.disabledAt === null);
    const idle = held.filter((k) => k.disabledAt !== null).reverse();
    const disabled = usable.slice(0, Math.max(0, usable.length - limit)).map((k) => k.id);
    const enabled = idle.slice(0, Math.max(0, limit - usable.length)).map((k) => k.id);
    if (disabled.length > 0) {
      await tx
        .update(apiKeys)
        .set({ disabledAt: this.deps.clock.now() })
        .where(and(eq(apiKeys.userId, userId), inArray(apiKeys.id, disabled)));
    }
    if (enabled.length > 0) {
      await tx
        .update(apiKeys)
        .set({ disabledAt: null })
        .where(and(eq(apiKeys.userId, userId), inArray(apiKeys.id, enabled)));
    }
    return { disabled, enabled };
  }

  /** Ids of the disabled keys of `userId` that are not revoked, newest first, inside `tx`. */
  async disabledIds(tx: Db, userId: string): Promise<string[]> {
    const rows = await tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), isNotNull(apiKeys.disabledAt)))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
    return rows.map((r) => r.id);
  }

  /** Keys of `userId` that are neither revoked nor disabled, inside `tx` (for `/api/v1/me` usage). */
  activeCount(tx: Db, userId: string): Promise<number> {
    return this.countActive(tx, userId);
  }
}
