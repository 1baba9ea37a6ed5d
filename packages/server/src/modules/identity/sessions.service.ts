import type { Session } from '@fleece/sdk/contract';
import { and, eq, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { INVALIDATION_CHANNEL, InvalidatingCache, type Invalidations } from '../../db/invalidation.js';
import {
  encodeCursor,
  idWithPrefix,
  newestFirst,
  olderThan,
  pageOf,
  readCursor,
} from '../../db/pagination.js';
import { sessions, users } from '../../db/schema/identity.js';
import { withUser } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/secrets.js';

/**
 * The PostgreSQL channel on which session and user invalidations are announced to every instance: the
 * shared invalidation channel (src/db/invalidation.ts), which API keys and `/api/v1/me` use too.
 */
export const SESSIONS_CHANNEL = INVALIDATION_CHANNEL;

/** Idle and absolute timeouts per kind of session, in ms. */
export const SESSION_TIMEOUTS = {
  /** Browser: 7 days without activity, 30 days in all. */
  browser: { idleMs: 7 * 86_400_000, absoluteMs: 30 * 86_400_000 },
  /** CLI: 30 days without a refresh, 90 days in all (then `fleece login` again). */
  cli: { idleMs: 30 * 86_400_000, absoluteMs: 90 * 86_400_000 },
} as const;

/** How long a session's validity is cached in process, in ms; invalidations arrive sooner via NOTIFY. */
export const SESSION_CACHE_TTL_MS = 60_000;

/** Most sessions cached per instance; the oldest entries are dropped first. */
const SESSION_CACHE_MAX = 50_000;

/** What authentication needs to know about a session, as cached. */
export interface SessionState {
  sessionId: string;
  userId: string;
  kind: 'browser' | 'cli';
  role: 'user' | 'admin';
  userStatus: 'active' | 'suspended' | 'pending_deletion';
  revoked: boolean;
  lastUsedAt: number;
  absoluteExpiresAt: number;
}

/** Why a session is not usable, or `ok`. */
export type SessionVerdict = 'ok' | 'revoked' | 'idle_timeout' | 'absolute_timeout' | 'user_inactive';

/** Input of {@link SessionService.create}. */
export interface NewSession {
  userId: string;
  kind: 'browser' | 'cli';
  method: string;
  clientId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

type SessionRow = typeof sessions.$inferSelect;

/** What {@link SessionService} is built from (its dependencies and settings). */
export interface SessionServiceOptions {
  database: Database;
  clock: Clock;
  invalidations: Invalidations;
}

/**
 * Server-side sessions: creation, the validity check behind every authenticated request, listing and
 * revocation. Validity is cached per instance for {@link SESSION_CACHE_TTL_MS}; every revocation (and
 * every change to a user that affects their sessions) is announced on the shared invalidation channel
 * inside the changing transaction, and every instance drops the affected entries when it commits. After
 * the listening connection reconnects (notifications may have been missed) the whole cache is dropped.
 */
export class SessionService {
  private readonly cache: InvalidatingCache<SessionState>;

  constructor(private readonly deps: SessionServiceOptions) {
    const { clock, invalidations } = deps;
    this.cache = new InvalidatingCache<SessionState>({
      ttlMs: SESSION_CACHE_TTL_MS,
      max: SESSION_CACHE_MAX,
      clock,
      matches: (payload, sessionId, state) => {
        const kind = payload.slice(0, 2);
        if (kind === 's:') return payload.slice(2) === sessionId;
        if (kind === 'u:') return payload.slice(2) === state.userId;
        return kind !== 'k:' && kind !== 'm:';
      },
    });
    invalidations.subscribe(this.cache);
  }

  private get db(): Db {
    return this.deps.database.db;
  }

  /** Drops every cached entry. */
  clearCache(): void {
    this.cache.reset();
  }

  /**
   * Announces that session `sessionId` (or every session of `userId`) changed: sent inside `tx`, so it is
   * delivered to every instance when `tx` commits. Also call {@link afterCommit} with the same payload.
   */
  async announce(tx: Db, target: { sessionId: string } | { userId: string }): Promise<string> {
    const payload = 'sessionId' in target ? `s:${target.sessionId}` : `u:${target.userId}`;
    return this.deps.invalidations.announce(tx, payload);
  }

  /** Drops the local cache entries of an announced change at once, before the notification comes back. */
  afterCommit(payload: string): void {
    this.deps.invalidations.afterCommit(payload);
  }

  /** Creates a session row inside `tx`; timeouts come from the session's kind. */
  async create(tx: Db, input: NewSession): Promise<SessionRow> {
    const now = this.deps.clock.now();
    const [row] = await tx
      .insert(sessions)
      .values({
        id: newId('ses'),
        userId: input.userId,
        kind: input.kind,
        method: input.method,
        clientId: input.clientId ?? null,
        ip: input.ip ?? null,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
        createdAt: now,
        lastUsedAt: now,
        absoluteExpiresAt: new Date(now.getTime() + SESSION_TIMEOUTS[input.kind].absoluteMs),
      })
      .returning();
    return row!;
  }

  /**
   * The cached state of session `sessionId` of user `userId` (the `sub` of the verified token), read from
   * the database on a miss, in that user's row-level security scope; `undefined` when no such session of
   * that user exists.
   */
  async state(sessionId: string, userId: string): Promise<SessionState | undefined> {
    const state = await this.cache.load(sessionId, async () => {
      const [row] = await withUser(this.db, userId, (tx) =>
        tx
          .select({
            sessionId: sessions.id,
            userId: sessions.userId,
            kind: sessions.kind,
            revokedAt: sessions.revokedAt,
            lastUsedAt: sessions.lastUsedAt,
            absoluteExpiresAt: sessions.absoluteExpiresAt,
            role: users.role,
            userStatus: users.status,
          })
          .from(sessions)
          .innerJoin(users, eq(users.id, sessions.userId))
          .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId))),
      );
      if (!row) return undefined;
      return {
        sessionId: row.sessionId,
        userId: row.userId,
        kind: row.kind,
        role: row.role,
        userStatus: row.userStatus,
        revoked: row.revokedAt !== null,
        lastUsedAt: row.lastUsedAt.getTime(),
        absoluteExpiresAt: row.absoluteExpiresAt.getTime(),
      } satisfies SessionState;
    });
    return state?.userId === userId ? state : undefined;
  }

  /**
   * Whether a session may be used now: not revoked, within both timeouts, and its user not suspended. A
   * session of an account pending deletion is usable; authorisation limits what it may do (see the
   * `allowPendingDeletion` route option).
   */
  verdict(state: SessionState): SessionVerdict {
    const now = this.deps.clock.now().getTime();
    if (state.revoked) return 'revoked';
    if (state.userStatus === 'suspended') return 'user_inactive';
    if (now >= state.absoluteExpiresAt) return 'absolute_timeout';
    if (now >= state.lastUsedAt + SESSION_TIMEOUTS[state.kind].idleMs) return 'idle_timeout';
    return 'ok';
  }

  /** Records activity on session `sessionId` of `userId` (sliding the idle timeout) and its cached entry. */
  async touch(sessionId: string, userId: string): Promise<void> {
    const now = this.deps.clock.now();
    await withUser(this.db, userId, (tx) =>
      tx
        .update(sessions)
        .set({ lastUsedAt: now })
        .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId))),
    );
    const hit = this.cache.get(sessionId);
    if (hit) hit.lastUsedAt = now.getTime();
  }

  /**
   * Marks one session revoked inside `tx` (a no-op when it is not `userId`'s or already revoked) and
   * announces it.
   * @returns the revoked session and the invalidation payload to pass to {@link afterCommit}, or
   *   `undefined` when nothing was revoked.
   */
  async revoke(
    tx: Db,
    sessionId: string,
    reason: string,
    userId?: string,
  ): Promise<{ session: SessionRow; payload: string } | undefined> {
    const [row] = await tx
      .update(sessions)
      .set({ revokedAt: this.deps.clock.now(), revokedReason: reason })
      .where(
        and(
          eq(sessions.id, sessionId),
          isNull(sessions.revokedAt),
          userId === undefined ? undefined : eq(sessions.userId, userId),
        ),
      )
      .returning();
    if (!row) return undefined;
    return { session: row, payload: await this.announce(tx, { sessionId }) };
  }

  /** Revokes every live session of `userId` except `keepSessionId`, inside `tx`. @returns the revoked ids. */
  async revokeAllExcept(
    tx: Db,
    userId: string,
    keepSessionId: string | undefined,
    reason: string,
  ): Promise<{ ids: string[]; payload: string | undefined }> {
    const rows = await tx
      .update(sessions)
      .set({ revokedAt: this.deps.clock.now(), revokedReason: reason })
      .where(
        and(
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          keepSessionId ? ne(sessions.id, keepSessionId) : undefined,
        ),
      )
      .returning({ id: sessions.id });
    if (rows.length === 0) return { ids: [], payload: undefined };
    return { ids: rows.map((r) => r.id), payload: await this.announce(tx, { userId }) };
  }

  /** SQL condition: the session is neither revoked nor past either timeout at `now`. */
  liveCondition(now: Date) {
    const browserIdle = new Date(now.getTime() - SESSION_TIMEOUTS.browser.idleMs);
    const cliIdle = new Date(now.getTime() - SESSION_TIMEOUTS.cli.idleMs);
    return and(
      isNull(sessions.revokedAt),
      sql`${sessions.absoluteExpiresAt} > ${now}`,
      or(
        and(eq(sessions.kind, 'browser'), sql`${sessions.lastUsedAt} > ${browserIdle}`),
        and(eq(sessions.kind, 'cli'), sql`${sessions.lastUsedAt} > ${cliIdle}`),
      ),
    );
  }

  /**
   * One page of `userId`'s live sessions, newest first, marking `currentSessionId`.
   * @returns `undefined` when `cursor` is not one this method produced.
   */
  async list(
    userId: string,
    currentSessionId: string | undefined,
    limit: number,
    cursor: string | undefined,
  ): Promise<{ data: Session[]; nextCursor: string | null } | undefined> {
    const after = cursor === undefined ? undefined : readCursor(cursor, idWithPrefix('ses'));
    if (cursor !== undefined && !after) return undefined;
    const rows = await withUser(this.db, userId, (tx) =>
      tx
        .select()
        .from(sessions)
        .where(
          and(
            eq(sessions.userId, userId),
            this.liveCondition(this.deps.clock.now()),
            olderThan(sessions.createdAt, sessions.id, after),
          ),
        )
        .orderBy(...newestFirst(sessions.createdAt, sessions.id))
        .limit(limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, limit, encodeCursor);
    return {
      data: page.map((r) => ({
        id: r.id,
        kind: r.kind,
        method: r.method,
        clientId: r.clientId,
        userAgent: r.userAgent,
        ip: r.ip,
        createdAt: r.createdAt.toISOString(),
        lastUsedAt: r.lastUsedAt.toISOString(),
        expiresAt: r.absoluteExpiresAt.toISOString(),
        current: r.id === currentSessionId,
      })),
      nextCursor,
    };
  }
}
