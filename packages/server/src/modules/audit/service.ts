import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type {
  AdminAuditEventListQuery,
  AuditEvent,
  AuditEventPage,
  AuditVerifyResponse,
} from '@fleece/sdk/contract';
import { and, desc, eq, gt, gte, lt, max, type SQL, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { type Database, type Db, rowsOf } from '../../db/client.js';
import { decodeIdCursor, encodeIdCursor, pageOf } from '../../db/pagination.js';
import {
  AUDIT_OUTCOMES,
  auditEvents,
  auditSubjects,
  auditThrottle,
  SYSTEM_CHAIN,
} from '../../db/schema/audit.js';
import type { Clock } from '../../lib/clock.js';
import {
  DecryptionError,
  decrypt,
  type EncryptionKey,
  encrypt,
  generateKey,
  type Keyring,
  unwrapKey,
  wrapKey,
} from '../../lib/crypto.js';
import { type AuditAction, isAuditAction } from './catalogue.js';
import { type ChainedEvent, ChainVerifier, canonicalJson } from './chain.js';
import { AUDIT_ACTOR_TYPES, type AuditContext } from './context.js';
import {
  AuditNotifier,
  type AuditStreamHub,
  type AuditStreamOptions,
  auditStreamHub,
  type StreamEvent,
  type StreamScope,
} from './notifier.js';

/** Most keys a metadata object may hold, counting nested objects' keys too. */
export const METADATA_MAX_KEYS = 50;
/** Longest metadata string, in UTF-16 code units; longer strings are cut to this length, ending in `…`. */
export const METADATA_MAX_STRING = 500;
/** Longest stored user agent, in UTF-16 code units; longer ones are cut. */
export const USER_AGENT_MAX = 512;
/** Default throttle window of {@link AuditService.recordDetached}, in ms. */
export const DEFAULT_THROTTLE_WINDOW_MS = 60_000;
/**
 * How long a subject's opened data key stays in memory, in ms (10 min). A forgotten subject's key is
 * never used again; it may stay in the memory of other instances until this expires or is evicted.
 */
export const SUBJECT_KEY_TTL_MS = 10 * 60 * 1000;
const SUBJECT_KEYS_MAX = 10_000;

/** How far back a stream replays when `Last-Event-ID` is not one of the caller's events, in ms (24 h). */
export const STREAM_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;

const METADATA_MAX_DEPTH = 4;
const THROTTLE_LOCAL_MAX = 10_000;
const THROTTLE_CLEANUP_MS = 10 * 60 * 1000;
const VERIFY_BATCH = 1_000;

export { type AuditActor, type AuditContext, auditContext, SYSTEM_AUDIT_CONTEXT } from './context.js';

const RESOURCE_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]+/;

/**
 * Anything that runs drizzle queries: the app's `Db`, or the transaction handed to a
 * `db.transaction(async (tx) => …)` callback.
 */
export type AuditExecutor = Pick<Db, 'execute' | 'select' | 'insert' | 'delete'>;

/**
 * What happened.
 *
 * - `action`: from the catalogue (src/modules/audit/catalogue.ts);
 * - `resourceType`: lower-case snake_case, such as `api_key`; `resourceId`: at most 200 characters; a user
 *   id (`usr_…`) is stored as that user's subject, never in clear;
 * - `metadata`: a JSON object of at most {@link METADATA_MAX_KEYS} keys (nested ones included, nesting at
 *   most 4 deep); strings longer than {@link METADATA_MAX_STRING} are cut. It must carry no personal data:
 *   a value that is an IP address or looks like an email address is refused;
 * - `subjectUserId`: whose log the event belongs to when that is not the actor: the user an admin
 *   suspended, the account the system purged, the account a failed sign-in targeted. Without it the event
 *   goes to the actor's log, or to the system chain when the actor is no person.
 */
export interface AuditEventInput {
  action: AuditAction;
  resourceType: string;
  resourceId?: string | null;
  outcome: (typeof AUDIT_OUTCOMES)[number];
  metadata?: Record<string, unknown>;
  subjectUserId?: string;
}

/** Options of {@link AuditService.recordDetached}. */
export interface DetachedOptions {
  /** Records at most one event per key per window (across every instance); no key, no throttle. */
  throttleKey?: string;
  /** The window, in ms; default {@link DEFAULT_THROTTLE_WINDOW_MS}. */
  windowMs?: number;
}

/** Thrown by {@link AuditService.record} for an event the catalogue or the bounds refuse (a caller bug). */
export class AuditEventError extends Error {
  override name = 'AuditEventError';
}

/** Whose events a read covers: one user's own log, or (admins) every log. */
export type AuditScope = { kind: 'user'; userId: string } | { kind: 'all' };

/** Removes NUL (PostgreSQL text cannot hold it), repairs lone surrogates, and cuts to `max` code units. */
function cleanText(value: string, max: number, ellipsis = false): string {
  let s = value.replaceAll('\0', '').replace(LONE_SURROGATE, '\uFFFD');
  if (s.length > max) {
    const end = ellipsis ? max - 1 : max;
    // Never split a surrogate pair.
    const cut = /[\uD800-\uDBFF]/.test(s.charAt(end - 1)) ? end - 1 : end;
    s = s.slice(0, cut) + (ellipsis ? '…' : '');
  }
  return s;
}

/**
 * Validates and bounds event metadata, returning plain JSON data.
 * @throws {AuditEventError} on too many keys, too deep nesting, a non-JSON value, or a value that is an IP
 *   address or looks like an email address.
 */
export function boundedMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  let keys = 0;
  const walk = (value: unknown, depth: number, path: string): unknown => {
    if (value === null || typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new AuditEventError(`metadata ${path} is not a finite number`);
      return value;
    }
    if (typeof value === 'string') {
      // Personal data stays out of metadata: it could never be erased from an insert-only log.
      if (EMAIL.test(value) || isIP(value.trim())) {
        throw new AuditEventError(
          `metadata ${path} looks like an email or IP address; personal data does not go into audit metadata`,
        );
      }
      return cleanText(value, METADATA_MAX_STRING, true);
    }
    if (typeof value !== 'object') throw new AuditEventError(`metadata ${path} is a ${typeof value}`);
    if (depth >= METADATA_MAX_DEPTH) throw new AuditEventError(`metadata ${path} nests too deep`);
    if (Array.isArray(value)) {
      if (value.length > METADATA_MAX_KEYS) throw new AuditEventError(`metadata ${path} has too many items`);
      return value.map((v, i) => walk(v ?? null, depth + 1, `${path}[${i}]`));
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new AuditEventError(`metadata ${path} is not plain JSON data`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (++keys > METADATA_MAX_KEYS) {
        throw new AuditEventError(`metadata has more than ${METADATA_MAX_KEYS} keys`);
      }
      out[cleanText(k, 100)] = walk(v, depth + 1, path ? `${path}.${k}` : k);
    }
    return out;
  };
  return walk(metadata ?? {}, 0, '') as Record<string, unknown>;
}

const subjectAad = (subject: string) => `audit_subject:${subject}`;
const fieldAad = (subject: string, field: 'ip' | 'user_agent') => `audit_event:${subject}:${field}`;

/** Parses `evt_<n>`; anything else is `undefined`. */
export function parseEventId(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^evt_([1-9][0-9]{0,15})$/.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}

type EventRow = typeof auditEvents.$inferSelect;

/** A subject and its opened data key, as cached by the service. */
interface SubjectKey {
  subject: string;
  key: EncryptionKey;
  /** `performance.now()` after which the entry is read again. */
  expiresAt: number;
}

/** The validated list query (the admin form; a user's lacks `chain` and `actorSubject`). */
export type AuditListFilters = z.output<typeof AdminAuditEventListQuery>;

/** Construction options of {@link AuditService}. */
export interface AuditServiceOptions {
  database: Database;
  keyring: Keyring;
  clock: Clock;
  log: FastifyBaseLogger;
  stream?: AuditStreamOptions;
}

/**
 * The audit log (docs/security.md, "Audit log"): records events into per-subject hash chains, reads and verifies them
 * within a caller's scope, and streams them live. Decorated on the app as `app.audit`.
 *
 * Recording is the contract every feature relies on:
 * - {@link record} runs inside the transaction of the change it describes, so a rolled-back change leaves
 *   no event and a committed one always has one;
 * - {@link recordDetached} is for attempts that change nothing (failed sign-ins, denials, rate-limit hits),
 *   throttled per key, and never throws.
 */
export class AuditService {
  /** Live streams served by this instance. */
  readonly stream: AuditStreamHub;
  private readonly notifier: AuditNotifier;
  private readonly db: Db;
  private readonly keyring: Keyring;
  private readonly clock: Clock;
  private readonly log: FastifyBaseLogger;
  private readonly throttled = new Map<string, number>();
  private readonly subjectKeys = new Map<string, SubjectKey>();
  private lastThrottleCleanup = 0;

  constructor(options: AuditServiceOptions) {
    this.db = options.database.db;
    this.keyring = options.keyring;
    this.clock = options.clock;
    this.log = options.log;
    this.notifier = new AuditNotifier(this.db, this.log);
    this.stream = auditStreamHub(
      options.database,
      (scope, afterId, limit) => this.eventsAfter(scope, afterId, limit),
      this.log,
      options.stream,
    );
  }

  /**
   * Records one event inside `tx`, the transaction of the change it describes, and returns its id
   * (`evt_<n>`). The event joins the chain of `event.subjectUserId ?? ctx.actor.userId` (or the system
   * chain), whose subject is created on first use. Writers on one chain queue on that chain's lock until
   * their transactions end; writers on other chains do not wait. The event is announced to live streams
   * once `tx` commits.
   *
   * Call it from READ COMMITTED transactions (PostgreSQL's default). In a REPEATABLE READ or SERIALIZABLE
   * transaction a concurrent writer on the same chain makes it fail (unique violation on `prev_hash`, or a
   * serialisation failure) rather than fork the chain; retry the transaction.
   *
   * @throws {AuditEventError} when the action is not in the catalogue or the event breaks its bounds.
   * @throws {DecryptionError} when the subject's data key cannot be opened (a missing previous key after a
   *   key rotation). Either way the caller's transaction should roll back.
   */
  async record(tx: AuditExecutor, ctx: AuditContext, event: AuditEventInput): Promise<string> {
    const { actor } = ctx;
    if (!isAuditAction(event.action)) throw new AuditEventError(`Unknown audit action ${event.action}`);
    if (!AUDIT_ACTOR_TYPES.includes(actor.type))
      throw new AuditEventError(`Unknown actor type ${actor.type}`);
    if (actor.type === 'system' && actor.userId) throw new AuditEventError('A system actor has no user id');
    if (actor.type === 'api_key' && !actor.apiKeyId)
      throw new AuditEventError('An api_key actor needs apiKeyId');
    if (!AUDIT_OUTCOMES.includes(event.outcome))
      throw new AuditEventError(`Unknown outcome ${event.outcome}`);
    if (!RESOURCE_TYPE.test(event.resourceType)) {
      throw new AuditEventError(
        `resourceType ${JSON.stringify(event.resourceType)} is not lower-case snake_case`,
      );
    }
    if (event.resourceId != null && (event.resourceId.length === 0 || event.resourceId.length > 200)) {
      throw new AuditEventError('resourceId must be 1 to 200 characters');
    }
    const metadata = canonicalJson(boundedMetadata(event.metadata));
    const ip = ctx.ip && isIP(ctx.ip) ? ctx.ip : null;
    const userAgent = ctx.userAgent ? cleanText(ctx.userAgent, USER_AGENT_MAX) : null;
    const chainUser = event.subjectUserId ?? actor.userId ?? null;
    const rawResourceId = event.resourceId == null ? null : cleanText(event.resourceId, 200);

    const resourceUser = rawResourceId?.startsWith('usr_') ? rawResourceId : null;
    const apiKeyId = actor.apiKeyId ? cleanText(actor.apiKeyId, 64) : null;
    const requestId = ctx.requestId ? cleanText(ctx.requestId, 128) : null;
    const occurredAt = this.clock.now().toISOString();

    // At most three more tries: the chain subject was forgotten meanwhile (a cached key is stale), and the
    // actor and the user acted upon may each need a subject first.
    for (let attempt = 0; attempt < 4; attempt++) {
      const chainKey = chainUser ? await this.subjectKey(tx, chainUser) : null;
      const sealed = (value: string | null, field: 'ip' | 'user_agent') =>
        chainKey && value ? encrypt(chainKey.key, value, fieldAad(chainKey.subject, field)) : null;
      const [row] = rowsOf<{
        event_id: number | string | null;
        xact_id: string | null;
        retry_user_id: string | null;
      }>(
        await tx.execute(sql`select event_id, xact_id, retry_user_id from audit_append_event(${chainUser},
          ${chainKey?.subject ?? null}, ${occurredAt}, ${actor.type}, ${actor.userId ?? null}, ${apiKeyId},
          ${event.action}, ${event.resourceType}, ${resourceUser ? null : rawResourceId}, ${resourceUser},
          ${event.outcome}, ${metadata}, ${chainKey ? null : ip}, ${chainKey ? null : userAgent},
          ${sealed(ip, 'ip')}, ${sealed(userAgent, 'user_agent')}, ${requestId})`),
      );
      if (row?.event_id != null) {
        const id = Number(row.event_id);
        this.notifier.enqueue(id, chainKey?.subject ?? SYSTEM_CHAIN, row.xact_id!);
        return `evt_${id}`;
      }
      const retry = row?.retry_user_id;
      if (!retry) throw new Error('audit_append_event wrote nothing and named no user to resolve');
      if (retry === chainUser) this.subjectKeys.delete(retry);
      else await this.subjectFor(tx, retry);
    }
    throw new Error(`The audit subjects of this event kept changing while it was recorded`);
  }

  /**
   * Records an event that belongs to no change (a failed sign-in, a denial, a rate-limit hit) in a
   * transaction of its own. With a `throttleKey`, at most one event per key per window is recorded across
   * every instance (the key is stored only as its SHA-256); the rest are dropped, so an attacker cannot
   * flood the log. Never throws: a failure is logged and answers `null`.
   *
   * @returns the event id, or `null` when throttled or when recording failed.
   */
  async recordDetached(
    ctx: AuditContext,
    event: AuditEventInput,
    options: DetachedOptions = {},
  ): Promise<string | null> {
    try {
      const now = this.clock.now();
      const windowMs = options.windowMs ?? DEFAULT_THROTTLE_WINDOW_MS;
      const keyHash =
        options.throttleKey === undefined
          ? undefined
          : createHash('sha256').update(options.throttleKey).digest();
      if (keyHash) {
        const local = this.throttled.get(keyHash.toString('hex'));
        if (local !== undefined && now.getTime() < local) return null;
      }
      return await this.db.transaction(async (tx) => {
        if (keyHash && !(await this.claimWindow(tx, keyHash, now, windowMs))) return null;
        return this.record(tx, ctx, event);
      });
    } catch (error) {
      this.log.error({ err: error, action: event.action }, 'audit event could not be recorded');
      return null;
    }
  }

  /** Claims the throttle window of `keyHash` for this instance; false when another caller holds it. */
  private async claimWindow(
    tx: AuditExecutor,
    keyHash: Buffer,
    now: Date,
    windowMs: number,
  ): Promise<boolean> {
    const endsAt = new Date(now.getTime() + windowMs);
    if (now.getTime() - this.lastThrottleCleanup >= THROTTLE_CLEANUP_MS) {
      this.lastThrottleCleanup = now.getTime();
      await tx.delete(auditThrottle).where(lt(auditThrottle.windowEndsAt, now));
    }
    const claimed = await tx
      .insert(auditThrottle)
      .values({ keyHash, windowEndsAt: endsAt })
      .onConflictDoUpdate({
        target: auditThrottle.keyHash,
        set: { windowEndsAt: endsAt },
        setWhere: sql`${auditThrottle.windowEndsAt} <= ${now.toISOString()}::timestamptz`,
      })
      .returning({ windowEndsAt: auditThrottle.windowEndsAt });
    let until = endsAt.getTime();
    if (claimed.length === 0) {
      const [held] = await tx
        .select({ windowEndsAt: auditThrottle.windowEndsAt })
        .from(auditThrottle)
        .where(eq(auditThrottle.keyHash, keyHash));
      until = held?.windowEndsAt.getTime() ?? until;
    }
    const key = keyHash.toString('hex');
    this.throttled.delete(key);
    this.throttled.set(key, until);
    if (this.throttled.size > THROTTLE_LOCAL_MAX) this.throttled.delete(this.throttled.keys().next().value!);
    return claimed.length > 0;
  }

  private newSubject(): { subject: string; wrappedKey: Buffer } {
    const subject = `sub_${randomBytes(16).toString('hex')}`;
    return { subject, wrappedKey: wrapKey(this.keyring, generateKey(), subjectAad(subject)) };
  }

  /**
   * The subject of `userId` and its data key, created when missing. Kept for {@link SUBJECT_KEY_TTL_MS} in
   * a bounded in-process cache, so recording costs one round trip; a stale entry (the subject was forgotten
   * on another instance) is caught by `audit_append_event`, which refuses it, and is then dropped.
   */
  private async subjectKey(tx: AuditExecutor, userId: string): Promise<SubjectKey> {
    const now = performance.now();
    const cached = this.subjectKeys.get(userId);
    if (cached && cached.expiresAt > now) return cached;
    const read = () =>
      tx
        .select({ subject: auditSubjects.subject, wrappedKey: auditSubjects.wrappedKey })
        .from(auditSubjects)
        .where(eq(auditSubjects.userId, userId));
    let [row] = await read();
    if (!row) {
      await tx
        .insert(auditSubjects)
        .values({ userId, ...this.newSubject(), createdAt: this.clock.now() })
        .onConflictDoNothing({ target: auditSubjects.userId });
      // Ours, or the one a concurrent writer committed first.
      [row] = await read();
      if (!row) throw new Error(`No audit subject for ${userId} after creating one`);
    }
    const entry: SubjectKey = {
      subject: row.subject,
      key: unwrapKey(this.keyring, row.wrappedKey, subjectAad(row.subject)),
      expiresAt: now + SUBJECT_KEY_TTL_MS,
    };
    this.subjectKeys.delete(userId);
    this.subjectKeys.set(userId, entry);
    if (this.subjectKeys.size > SUBJECT_KEYS_MAX)
      this.subjectKeys.delete(this.subjectKeys.keys().next().value!);
    return entry;
  }

  /** The subject (`sub_…`) of `userId`, or `undefined` when none exists (no event yet, or forgotten). */
  async findSubject(tx: AuditExecutor, userId: string): Promise<string | undefined> {
    const [row] = await tx
      .select({ subject: auditSubjects.subject })
      .from(auditSubjects)
      .where(eq(auditSubjects.userId, userId));
    return row?.subject;
  }

  /**
   * The pseudonymous subject (`sub_` + 32 hex) of `userId`, created with a fresh data key when the user
   * has none. Concurrent callers agree on one subject.
   */
  async subjectFor(tx: AuditExecutor, userId: string): Promise<string> {
    return (await this.subjectKey(tx, userId)).subject;
  }

  /**
   * Forgets `userId` for the account purge: deletes the subject mapping and with it the subject's data
   * key. The user's events stay, unchanged and still verifiable, but nothing links them to the person any
   * more and their IP addresses and user agents can no longer be decrypted (crypto-shredding). Record
   * `account.deleted` in the user's chain first, in the same transaction.
   *
   * @returns whether a mapping existed.
   */
  async forgetSubject(tx: AuditExecutor, userId: string): Promise<boolean> {
    this.subjectKeys.delete(userId);
    const deleted = await tx
      .delete(auditSubjects)
      .where(eq(auditSubjects.userId, userId))
      .returning({ subject: auditSubjects.subject });
    return deleted.length > 0;
  }

  /** The chain a user scope reads (`undefined`: the user has no events yet), or null for every chain. */
  private async chainOf(scope: AuditScope): Promise<string | null | undefined> {
    return scope.kind === 'all' ? null : this.findSubject(this.db, scope.userId);
  }

  /**
   * One page of events in `scope`, newest first, filtered by `query` (the validated wire query).
   * A user scope only ever sees the user's own chain.
   * @throws {ProblemError} `invalid_cursor` (400) for a cursor this API did not issue.
   */
  async list(scope: AuditScope, query: AuditListFilters): Promise<AuditEventPage> {
    const { limit } = query;
    const before =
      query.cursor === undefined
        ? undefined
        : decodeIdCursor(
            query.cursor,
            'The cursor is not one this API issued. Pass the nextCursor of the previous page unchanged, or leave it out to start from the newest event.',
          );
    const chain = await this.chainOf(scope);
    if (chain === undefined) return { data: [], nextCursor: null };

    const where: (SQL | undefined)[] = [];
    if (chain !== null) where.push(eq(auditEvents.chain, chain));
    if (query.chain) where.push(eq(auditEvents.chain, query.chain));
    if (query.actorSubject) where.push(eq(auditEvents.actorSubject, query.actorSubject));
    if (query.action) where.push(sql`starts_with(${auditEvents.action}, ${query.action})`);
    if (query.resourceType) where.push(eq(auditEvents.resourceType, query.resourceType));
    if (query.resourceId) {
      // Users are stored by subject: a filter naming a user id looks for that user's subject.
      const resourceId = query.resourceId.startsWith('usr_')
        ? ((await this.findSubject(this.db, query.resourceId)) ?? '(none)')
        : query.resourceId;
      where.push(eq(auditEvents.resourceId, resourceId));
    }
    if (query.outcome) where.push(eq(auditEvents.outcome, query.outcome));
    if (query.since) where.push(gte(auditEvents.occurredAt, new Date(query.since)));
    if (query.until) where.push(lt(auditEvents.occurredAt, new Date(query.until)));
    if (before !== undefined) where.push(lt(auditEvents.id, before));

    const rows = await this.selectEvents()
      .where(and(...where))
      .orderBy(desc(auditEvents.id))
      .limit(limit + 1);
    const { page, nextCursor } = pageOf(rows, limit, (last) => encodeIdCursor(last.event.id));
    const viewer = scope.kind === 'user' ? chain : null;
    return { data: this.present(page, viewer), nextCursor };
  }

  /** Events of a stream scope after `afterId`, oldest first (the stream's loader). */
  async eventsAfter(scope: StreamScope, afterId: number, limit: number): Promise<StreamEvent[]> {
    const rows = await this.selectEvents()
      .where(
        scope.chain === null
          ? gt(auditEvents.id, afterId)
          : and(eq(auditEvents.chain, scope.chain), gt(auditEvents.id, afterId)),
      )
      .orderBy(auditEvents.id)
      .limit(limit);
    return this.present(rows, scope.chain).map((event, i) => ({ id: rows[i]!.event.id, event }));
  }

  /** Events with their chain subject's sealed data key (null for the system chain and forgotten subjects). */
  private selectEvents() {
    return this.db
      .select({ event: auditEvents, wrappedKey: auditSubjects.wrappedKey })
      .from(auditEvents)
      .leftJoin(auditSubjects, eq(auditSubjects.subject, auditEvents.chain))
      .$dynamic();
  }

  /**
   * Wire form of stored events. `viewer` is the subject whose own log is read (null for admins): in their
   * own log a person sees the IP address and user agent of what they and unauthenticated callers did, not
   * those of an admin acting on their account.
   */
  private present(
    rows: { event: EventRow; wrappedKey: Buffer | null }[],
    viewer: string | null,
  ): AuditEvent[] {
    const keys = new Map<string, EncryptionKey | null>();
    const keyOf = (chain: string, wrapped: Buffer | null): EncryptionKey | null => {
      if (!keys.has(chain)) {
        let key: EncryptionKey | null = null;
        if (wrapped) {
          try {
            key = unwrapKey(this.keyring, wrapped, subjectAad(chain));
          } catch (error) {
            this.log.warn({ err: error, chain }, 'audit subject key cannot be opened');
          }
        }
        keys.set(chain, key);
      }
      return keys.get(chain)!;
    };
    const open = (
      key: EncryptionKey | null,
      sealed: Buffer | null,
      subject: string,
      field: 'ip' | 'user_agent',
    ) => {
      if (!key || !sealed) return null;
      try {
        return decrypt(key, sealed, fieldAad(subject, field)).toString('utf8');
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        return null;
      }
    };
    return rows.map(({ event: e, wrappedKey }) => {
      const visible = viewer === null || e.actorSubject === null || e.actorSubject === viewer;
      let ip = e.ip;
      let userAgent = e.userAgent;
      if (e.chain !== SYSTEM_CHAIN) {
        const key = visible ? keyOf(e.chain, wrappedKey) : null;
        ip = open(key, e.ipCiphertext, e.chain, 'ip');
        userAgent = open(key, e.userAgentCiphertext, e.chain, 'user_agent');
      }
      return {
        id: `evt_${e.id}`,
        occurredAt: e.occurredAt.toISOString(),
        chain: e.chain,
        actor: { type: e.actorType, subject: e.actorSubject, apiKeyId: e.apiKeyId },
        action: e.action,
        resourceType: e.resourceType,
        resourceId: e.resourceId,
        outcome: e.outcome,
        metadata: e.metadata,
        ip: visible ? ip : null,
        userAgent: visible ? userAgent : null,
        requestId: e.requestId,
        prevHash: e.prevHash.toString('hex'),
        hash: e.hash.toString('hex'),
      };
    });
  }

  /**
   * Verifies the hash chain(s) of `scope`: every event of each chain, in id order. A user scope walks the
   * user's chain and stops at its first broken link; the `all` scope walks every chain and reports the
   * lowest broken event id.
   */
  async verify(scope: AuditScope): Promise<AuditVerifyResponse> {
    const chain = await this.chainOf(scope);
    if (chain === undefined) return { valid: true, checked: 0 };
    let verifier: ChainVerifier | undefined;
    let checked = 0;
    let first: { eventId: number; reason: 'hash_mismatch' | 'link_mismatch' } | undefined;
    let after: { chain: string; id: number } | undefined;
    for (;;) {
      const position = after
        ? sql`(${auditEvents.chain}, ${auditEvents.id}) > (${after.chain}, ${after.id})`
        : undefined;
      const rows: ChainedEvent[] = await this.db
        .select()
        .from(auditEvents)
        .where(and(chain === null ? undefined : eq(auditEvents.chain, chain), position))
        .orderBy(auditEvents.chain, auditEvents.id)
        .limit(VERIFY_BATCH);
      for (const row of rows) {
        if (verifier?.chain !== row.chain) verifier = new ChainVerifier(row.chain);
        if (verifier.broken) continue;
        const broken = verifier.check(row);
        checked++;
        if (broken && (!first || broken.eventId < first.eventId)) first = broken;
      }
      if (rows.length < VERIFY_BATCH || (chain !== null && first)) break;
      const last = rows[rows.length - 1]!;
      after = { chain: last.chain, id: last.id };
    }
    return first
      ? { valid: false, checked, firstBrokenEventId: `evt_${first.eventId}`, reason: first.reason }
      : { valid: true, checked };
  }

  /**
   * Where a stream of `scope` starts, honouring `Last-Event-ID`:
   * - one of the scope's events: after it (replaying what was missed);
   * - absent: after the newest event (only new events);
   * - anything else (malformed, unknown, another tenant's): a full replay of the last
   *   {@link STREAM_REPLAY_WINDOW_MS}. Never an error, and never another scope's events.
   */
  async streamStart(
    scope: AuditScope,
    lastEventId: string | undefined,
  ): Promise<{ scope: StreamScope; afterId: number }> {
    const chain = scope.kind === 'all' ? null : await this.subjectFor(this.db, scope.userId);
    const inScope = chain === null ? undefined : eq(auditEvents.chain, chain);
    const last = parseEventId(lastEventId);
    if (last !== undefined) {
      const [known] = await this.db
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(and(eq(auditEvents.id, last), inScope));
      if (known) return { scope: { chain }, afterId: last };
    }
    const windowStart = new Date(this.clock.now().getTime() - STREAM_REPLAY_WINDOW_MS);
    const [row] = await this.db
      .select({ id: max(auditEvents.id) })
      .from(auditEvents)
      .where(lastEventId === undefined ? inScope : and(inScope, lt(auditEvents.occurredAt, windowStart)));
    return { scope: { chain }, afterId: row?.id ?? 0 };
  }

  /** Announces what is pending and stops the notifier (app shutdown, after streams ended). */
  async close(): Promise<void> {
    await this.stream.close();
    await this.notifier.close();
  }
}
