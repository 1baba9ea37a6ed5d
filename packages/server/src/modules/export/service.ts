import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';
import {
  EXPORT_FORMAT_VERSION,
  EXPORT_RECORD_TYPES,
  type ExportFormat,
  type ExportHeader,
  type ExportRecordType,
  type ExportTrailer,
} from '@fleece/sdk/contract';
import { and, asc, eq, inArray, max, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { FastifyBaseLogger } from 'fastify';
import type { ExportConfig } from '../../config.js';
import type { Database, Db } from '../../db/client.js';
import { agents, chatMessages, conversations, executions } from '../../db/schema/ai.js';
import { apiKeys } from '../../db/schema/api-keys.js';
import { auditEvents } from '../../db/schema/audit.js';
import { flows } from '../../db/schema/flows.js';
import { identities, sessions, users } from '../../db/schema/identity.js';
import { enterScope, withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { presentAgent } from '../agents/service.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { ChatService } from '../chat/service.js';
import { type ConsentService, presentConsents } from '../consents/service.js';
import type { ExecutionService } from '../executions/service.js';
import { presentFlow } from '../flows/service.js';
import { toUser } from '../identity/users.service.js';

/**
 * Rows read per query. Small enough that one batch of the largest rows (executions with up to 100,000
 * characters of input and their output) stays a few MiB; memory does not grow with the size of the export.
 */
export const EXPORT_BATCH_ROWS = {
  default: 500,
  execution: 100,
  conversation: 20,
  audit_event: 500,
} as const;

/** Why an export stopped before delivering everything, as recorded in `data.exported`'s `reason`. */
export type ExportFailure = 'client_closed' | 'client_stalled' | 'server_error';

/**
 * Thrown into the export when its client went away (`client_closed`) or stopped reading for longer than the
 * stall timeout (`client_stalled`); the export stops and records the attempt.
 */
export class ExportAborted extends Error {
  override name = 'ExportAborted';
  constructor(
    readonly reason: 'client_closed' | 'client_stalled',
    message: string,
  ) {
    super(message);
  }
}

/** Seconds a client refused with `export_busy` is told to wait (`Retry-After`). */
export const EXPORT_BUSY_RETRY_AFTER_SECONDS = 30;

/** What a finished export wrote: the trailer's figures. */
export interface ExportSummary {
  counts: Record<ExportRecordType, number>;
  records: number;
  bytes: number;
  sha256: string;
}

/** Options of {@link ExportService.run}. */
export interface ExportRun {
  format: ExportFormat;
  /** Aborted when the client goes away: the export stops at its next write. */
  signal: AbortSignal;
  /**
   * The client's connection (the HTTP response), destroyed when the export stops early (stall, failure) so
   * the client sees a truncated download instead of a connection left open. Defaults to the output stream.
   */
  response?: Writable;
  /**
   * Resolves `true` once the whole response (trailer included) has been handed to the client's connection,
   * `false` when the connection closed first. Only a delivered export is recorded as completed.
   */
  delivered: Promise<boolean>;
}

/**
 * Writes NDJSON lines to a stream with backpressure: each write waits while the stream's buffer is full,
 * throws {@link ExportAborted} (`client_closed`) once `signal` is aborted, and (`client_stalled`) when the
 * stream has not drained within `stallTimeoutMs` ms. It hashes and counts what it writes: the body of the
 * checksum is every byte written before the trailer.
 *
 * A wait for `drain` holds one timer, cleared the moment the stream drains, and listeners on `signal` and on
 * the stream's `close` and `error` (which end the wait as `client_closed`), removed with it: nothing
 * outlives the wait. (A fresh `AbortSignal.timeout` per wait would keep its timer, and everything composed
 * with it, alive for the whole stall timeout: thousands of waits per large export, retained for 30 s each.)
 */
class LineWriter {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  constructor(
    private readonly out: Writable,
    private readonly signal: AbortSignal,
    private readonly stallTimeoutMs: number,
  ) {}

  async write(value: unknown, hashed = true): Promise<void> {
    if (this.signal.aborted) throw new ExportAborted('client_closed', 'The client closed the connection.');
    // Written as a string: an NDJSON response stream that keeps strings (see the route) hands them to the
    // socket without a Buffer copy per line, which keeps external memory low on large exports.
    const line = `${JSON.stringify(value)}\n`;
    if (hashed) {
      this.hash.update(line, 'utf8');
      this.bytes += Buffer.byteLength(line, 'utf8');
    }
    if (!this.out.write(line)) await this.drained();
  }

  /** Resolves on the stream's next `drain`; rejects when `signal` aborts or the stall timeout passes first. */
  private drained(): Promise<void> {
    if (this.signal.aborted)
      return Promise.reject(new ExportAborted('client_closed', 'The client closed the connection.'));
    return new Promise((resolve, reject) => {
      const settle = (error?: ExportAborted) => {
        clearTimeout(timer);
        this.out.off('drain', onDrain);
        this.out.off('close', onAbort);
        this.out.off('error', onAbort);
        this.signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => settle();
      // The stream closing or failing while we wait ends the export as the client going away would.
      const onAbort = () => settle(new ExportAborted('client_closed', 'The client closed the connection.'));
      const timer = setTimeout(
        () =>
          settle(
            new ExportAborted(
              'client_stalled',
              `The client read nothing for ${this.stallTimeoutMs} ms (FLEECE_EXPORT_STALL_TIMEOUT_MS).`,
            ),
          ),
        this.stallTimeoutMs,
      );
      this.out.on('drain', onDrain);
      this.out.on('close', onAbort);
      this.out.on('error', onAbort);
      this.signal.addEventListener('abort', onAbort);
    });
  }
}

/** Reads with a transaction scoped to the exporting user: the snapshot one, or a short one per batch. */
type Reader = <T>(query: (tx: Db) => Promise<T>) => Promise<T>;

/**
 * A row position in `createdAt, id` order. `createdAt` has millisecond precision, as every `created_at` the
 * app writes does (from its clock); a value with microseconds (written by SQL's `now()`) would be read again
 * in the next batch.
 */
export interface Cursor {
  createdAt: Date;
  id: string;
}

/** The columns keyset pagination of a user's table needs. */
export interface KeyedTable {
  userId: PgColumn;
  createdAt: PgColumn;
  id: PgColumn;
}

/**
 * Where the batch after `cursor` of `userId`'s rows of `table` starts, and its order: a range of the
 * table's `(user_id, created_at, id)` index, `(created_at, id) > (c, i)` in `created_at, id` order (the
 * first batch has no lower bound). Read with {@link EXPORT_PLANNER_SETTINGS}, it is a scan of that index
 * from the cursor which stops after the batch, whatever the table's statistics say.
 */
export function keysetBatch(
  table: KeyedTable,
  userId: string,
  cursor?: Cursor,
): { where: SQL | undefined; orderBy: SQL[] } {
  const after = cursor
    ? sql`(${table.createdAt}, ${table.id}) > (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id})`
    : undefined;
  return { where: and(eq(table.userId, userId), after), orderBy: [asc(table.createdAt), asc(table.id)] };
}

/**
 * Planner settings for the export's reads, local to their transaction: no explicit sort, incremental sort or
 * bitmap scan, so a batch is read by an ordered index scan that stops at the batch's `LIMIT`. With stale
 * statistics (rows just bulk-loaded; PGlite never runs autovacuum) PostgreSQL otherwise estimates a handful
 * of rows and plans a bitmap scan of all the user's remaining rows plus a sort for every batch: quadratic in
 * the size of the export. Every export query has an index in its order (drizzle/0018_export_order_indexes.sql).
 */
export const EXPORT_PLANNER_SETTINGS = sql`select set_config('enable_sort', 'off', true), set_config('enable_incremental_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)`;

/**
 * Keyset pagination over `table`'s rows of `userId` in `createdAt, id` order ({@link keysetBatch}): yields
 * one batch (at most `limit` rows, each batch its own read) after another until a short batch. `query`
 * selects one batch with the `where` and `orderBy` given.
 */
async function* keyset<R extends Cursor>(
  read: Reader,
  userId: string,
  table: KeyedTable,
  limit: number,
  query: (tx: Db, where: SQL | undefined, orderBy: SQL[]) => Promise<R[]>,
): AsyncGenerator<R[]> {
  for (let cursor: Cursor | undefined; ; ) {
    const { where, orderBy } = keysetBatch(table, userId, cursor);
    const rows = await read((tx) => query(tx, where, orderBy));
    if (rows.length > 0) yield rows;
    if (rows.length < limit) return;
    cursor = rows.at(-1);
  }
}

/** What {@link ExportService} is built from (its dependencies and settings). */
export interface ExportServiceOptions {
  config: ExportConfig;
  database: Database;
  clock: Clock;
  audit: AuditService;
  executions: ExecutionService;
  chat: ChatService;
  consents: ConsentService;
  log: FastifyBaseLogger;
}

/**
 * Data export (issue 7; docs/api.md "Data export"): everything a user owns, streamed as NDJSON lines (header,
 * records grouped by type in {@link EXPORT_RECORD_TYPES} order, trailer with per-type counts and the SHA-256
 * of the body) into a writable stream, with flat memory:
 *
 * - every table is read in small batches by keyset pagination (`createdAt, id` ascending;
 *   {@link EXPORT_BATCH_ROWS}), each batch an index range scan from the last one ({@link keysetBatch},
 *   {@link EXPORT_PLANNER_SETTINGS}: the time per batch does not grow with the size of the export), each
 *   batch written before the next is read, and each write waits for the stream to drain (backpressure from
 *   the client's connection);
 * - on PostgreSQL all reads run in one `REPEATABLE READ READ ONLY` transaction, so the export is one
 *   consistent snapshot even while the user keeps working; on PGlite (one connection for the whole server)
 *   a transaction held for the length of a download would stall every other request, so each batch is its
 *   own short transaction: rows are never torn or repeated, but a row written during the export may or may
 *   not appear;
 * - audit events are read through the audit service (its own reads; the log is insert-only) up to the last
 *   event that existed when the export started;
 * - only an allow-list of columns is exported: key hashes, token hashes and ciphertext are never read into
 *   a record (execution input and output, chat messages are decrypted).
 *
 * Recording (`data.exported`): when the response has been completely handed to the client's connection,
 * `outcome: success` with the format and trailer figures; when the client went away first, stalled, or the
 * export failed, `outcome: failure` with `completed: false`, `reason` (`client_closed`, `client_stalled`,
 * `server_error`) and the bytes sent. Nothing is written to the user's data either way, and the rate limit
 * (`dataExport`) was charged once, when the request arrived.
 *
 * Connection budget (a client that stops reading must not hold database connections): at most
 * `config.concurrency` exports run at once per instance ({@link ExportService.reserve} refuses more with
 * 503 `export_busy`); a write that does not drain within `config.stallTimeoutMs` aborts the export, which
 * destroys the response and rolls back the snapshot transaction, returning its connection; and the snapshot
 * transaction carries `idle_in_transaction_session_timeout` (twice the stall timeout) and
 * `statement_timeout` as a database-side backstop.
 */
export class ExportService {
  private readonly running = new Set<Promise<void>>();
  /** Aborted when the server shuts down: running exports stop at their next write. */
  private readonly closing = new AbortController();

  constructor(private readonly deps: ExportServiceOptions) {}

  /**
   * Runs one export of `userId` into `out` (ending it, or destroying it on failure) and records it. Never
   * throws: failures are logged and recorded. Returns when the attempt is recorded.
   */
  run(ctx: AuditContext, userId: string, out: Writable, options: ExportRun): Promise<void> {
    this.reserve();
    const task = this.execute(ctx, userId, out, options).finally(() => this.running.delete(task));
    this.running.add(task);
    return task;
  }

  /** How many exports are running on this instance now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Throws {@link ProblemError} 503 `export_busy` with `Retry-After` when this instance already runs
   * `config.concurrency` exports. {@link run} checks it too; a route calls it before answering so the refusal
   * is a problem response, not a broken stream. Synchronous: the check and the start of the export happen in
   * the same turn of the event loop, so two requests cannot both take the last slot.
   */
  reserve(): void {
    if (this.running.size < this.deps.config.concurrency) return;
    throw new ProblemError(
      'export_busy',
      `This server is already running its maximum of ${this.deps.config.concurrency} data exports at once. Nothing was exported; try again in ${EXPORT_BUSY_RETRY_AFTER_SECONDS} seconds.`,
      { retryAfter: EXPORT_BUSY_RETRY_AFTER_SECONDS },
      { 'retry-after': String(EXPORT_BUSY_RETRY_AFTER_SECONDS) },
    );
  }

  /** Resolves when every export running on this instance has finished and been recorded (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops every running export (recorded as not completed) and waits for them; for server shutdown. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.settled();
  }

  private async execute(ctx: AuditContext, userId: string, out: Writable, options: ExportRun): Promise<void> {
    const signal = AbortSignal.any([options.signal, this.closing.signal]);
    const writer = new LineWriter(out, signal, this.deps.config.stallTimeoutMs);
    let summary: ExportSummary | undefined;
    let failure: ExportFailure | undefined;
    try {
      summary = await this.write(userId, writer);
      out.end();
      // What is left after the trailer is at most the output buffers (a few highWaterMarks): a client that
      // does not take it within the stall timeout is stalled, and must not keep its export slot.
      if (!(await this.deliveredWithin(options.delivered)))
        throw signal.aborted
          ? new ExportAborted('client_closed', 'The client closed the connection.')
          : new ExportAborted('client_stalled', 'The client did not read the end of the export.');
    } catch (error) {
      failure =
        error instanceof ExportAborted ? error.reason : signal.aborted ? 'client_closed' : 'server_error';
      if (failure === 'server_error') this.deps.log.error({ err: error }, 'data export failed');
      if (failure === 'client_stalled')
        this.deps.log.warn({ userId }, 'data export aborted: the client stopped reading');
      out.destroy(failure === 'server_error' ? (error as Error) : undefined);
      if (options.response && options.response !== out) options.response.destroy();
    }
    try {
      if (summary && !failure) {
        await withUser(this.deps.database.db, userId, (tx) =>
          this.deps.audit.record(tx, ctx, {
            action: 'data.exported',
            resourceType: 'user',
            resourceId: userId,
            outcome: 'success',
            metadata: {
              format: options.format,
              completed: true,
              formatVersion: EXPORT_FORMAT_VERSION,
              records: summary!.records,
              bytes: summary!.bytes,
              sha256: summary!.sha256,
              counts: summary!.counts,
            },
          }),
        );
      } else {
        await this.deps.audit.recordDetached(ctx, {
          action: 'data.exported',
          resourceType: 'user',
          resourceId: userId,
          outcome: 'failure',
          metadata: { format: options.format, completed: false, reason: failure, bytesSent: writer.bytes },
        });
      }
    } catch (error) {
      this.deps.log.error({ err: error }, 'recording a data export failed');
    }
  }

  /**
   * `delivered`, or `false` when it has not settled within the stall timeout (the client stopped reading
   * the last bytes) or once the client closed.
   */
  private async deliveredWithin(delivered: Promise<boolean>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.deps.config.stallTimeoutMs);
    });
    try {
      return await Promise.race([delivered, stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes header, records and trailer; returns the trailer's figures. */
  private async write(userId: string, writer: LineWriter): Promise<ExportSummary> {
    const exportedAt = this.deps.clock.now();
    const chain = await this.deps.audit.findSubject(this.deps.database.db, userId);
    const header: ExportHeader = {
      type: 'header',
      formatVersion: EXPORT_FORMAT_VERSION,
      exportedAt: exportedAt.toISOString(),
      userId,
    };
    await writer.write(header);
    const counts = Object.fromEntries(EXPORT_RECORD_TYPES.map((t) => [t, 0])) as Record<
      ExportRecordType,
      number
    >;
    const emit = async (type: ExportRecordType, data: unknown) => {
      await writer.write({ type, data });
      counts[type]++;
    };
    await this.snapshot(userId, async (read) => {
      await this.records(userId, read, emit);
    });
    // Audit events last, up to the last one that existed once the snapshot was read: the log keeps growing
    // while the export streams (its own `data.exported` comes after it).
    if (chain) {
      const [bound] = await this.deps.database.db
        .select({ last: max(auditEvents.id) })
        .from(auditEvents)
        .where(eq(auditEvents.chain, chain));
      const last = bound?.last ?? 0;
      for (let afterId = 0; afterId < last; ) {
        const batch = await this.deps.audit.eventsAfter({ chain }, afterId, EXPORT_BATCH_ROWS.audit_event);
        if (batch.length === 0) break;
        for (const { id, event } of batch) {
          if (id > last) break;
          await emit('audit_event', event);
        }
        afterId = batch.at(-1)!.id;
      }
    }
    const sha256 = writer.hash.digest('hex');
    const records = Object.values(counts).reduce((a, b) => a + b, 0);
    const trailer: ExportTrailer = { type: 'trailer', counts, records, bytes: writer.bytes, sha256 };
    await writer.write(trailer, false);
    return { counts, records, bytes: writer.bytes, sha256 };
  }

  /**
   * Runs `fn` with a reader: one REPEATABLE READ READ ONLY transaction on PostgreSQL (a consistent
   * snapshot), a short transaction per read on PGlite. Either way in `userId`'s row-level security scope.
   */
  private async snapshot(userId: string, fn: (read: Reader) => Promise<void>): Promise<void> {
    const db = this.deps.database.db;
    if (this.deps.database.kind === 'pglite') {
      await fn((query) =>
        withUser(db, userId, async (tx) => {
          await tx.execute(EXPORT_PLANNER_SETTINGS);
          return query(tx);
        }),
      );
      return;
    }
    let cleanup = () => {};
    await db
      .transaction(
        async (t) => {
          const tx = t as unknown as Db;
          // Database-side backstop: a snapshot left idle (its export waiting on a client) longer than twice
          // the stall timeout is ended by the server, which returns the connection; no statement may run
          // longer than that either.
          const backstop = `${Math.max(2 * this.deps.config.stallTimeoutMs, EXPORT_BACKSTOP_MIN_MS)}ms`;
          // If the backstop ever ends the session while no query runs, node-postgres emits `error` on the
          // checked-out client, which has no listener of its own: absorb it (the next read fails instead).
          const client = (t as unknown as { session?: { client?: NodeJS.EventEmitter } }).session?.client;
          client?.on('error', ignore);
          cleanup = () => client?.off('error', ignore);
          await tx.execute(
            sql`select set_config('idle_in_transaction_session_timeout', ${backstop}, true), set_config('statement_timeout', ${backstop}, true)`,
          );
          await tx.execute(EXPORT_PLANNER_SETTINGS);
          await enterScope(tx, { userId });
          await fn((query) => query(tx));
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      )
      .finally(() => cleanup());
  }

  /** Every data record but audit events, in {@link EXPORT_RECORD_TYPES} order. */
  private async records(
    userId: string,
    read: Reader,
    emit: (type: ExportRecordType, data: unknown) => Promise<void>,
  ): Promise<void> {
    const [user] = await read((tx) => tx.select().from(users).where(eq(users.id, userId)));
    if (!user) throw new Error(`user ${userId} not found for export`);
    await emit('profile', { ...toUser(user), plan: user.plan });

    const limit = EXPORT_BATCH_ROWS.default;
    const identityColumns = {
      id: identities.id,
      provider: identities.provider,
      subject: identities.subject,
      email: identities.email,
      emailVerified: identities.emailVerified,
      createdAt: identities.createdAt,
      updatedAt: identities.updatedAt,
    };
    for await (const rows of keyset(read, userId, identities, limit, (tx, where, order) =>
      tx
        .select(identityColumns)
        .from(identities)
        .where(where)
        .orderBy(...order)
        .limit(limit),
    )) {
      for (const r of rows) {
        await emit('identity', { ...r, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) });
      }
    }

    const apiKeyColumns = {
      id: apiKeys.id,
      name: apiKeys.name,
      start: apiKeys.start,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      expiresAt: apiKeys.expiresAt,
      lastUsedAt: apiKeys.lastUsedAt,
      lastUsedIp: apiKeys.lastUsedIp,
      revokedAt: apiKeys.revokedAt,
    };
    for await (const rows of keyset(read, userId, apiKeys, limit, (tx, where, order) =>
      tx
        .select(apiKeyColumns)
        .from(apiKeys)
        .where(where)
        .orderBy(...order)
        .limit(limit),
    )) {
      for (const r of rows) {
        await emit('api_key', {
          ...r,
          createdAt: iso(r.createdAt),
          expiresAt: isoOrNull(r.expiresAt),
          lastUsedAt: isoOrNull(r.lastUsedAt),
          revokedAt: isoOrNull(r.revokedAt),
        });
      }
    }

    const sessionColumns = {
      id: sessions.id,
      kind: sessions.kind,
      method: sessions.method,
      clientId: sessions.clientId,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.absoluteExpiresAt,
      revokedAt: sessions.revokedAt,
      revokedReason: sessions.revokedReason,
    };
    for await (const rows of keyset(read, userId, sessions, limit, (tx, where, order) =>
      tx
        .select(sessionColumns)
        .from(sessions)
        .where(where)
        .orderBy(...order)
        .limit(limit),
    )) {
      for (const r of rows) {
        await emit('session', {
          ...r,
          createdAt: iso(r.createdAt),
          lastUsedAt: iso(r.lastUsedAt),
          expiresAt: iso(r.expiresAt),
          revokedAt: isoOrNull(r.revokedAt),
        });
      }
    }

    for await (const rows of keyset(read, userId, agents, limit, (tx, where, order) =>
      tx
        .select()
        .from(agents)
        .where(where)
        .orderBy(...order)
        .limit(limit),
    )) {
      for (const r of rows) await emit('agent', presentAgent(r));
    }

    for await (const rows of keyset(read, userId, flows, limit, (tx, where, order) =>
      tx
        .select()
        .from(flows)
        .where(where)
        .orderBy(...order)
        .limit(limit),
    )) {
      for (const r of rows) await emit('flow', presentFlow(r));
    }

    const executionLimit = EXPORT_BATCH_ROWS.execution;
    for await (const rows of keyset(read, userId, executions, executionLimit, (tx, where, order) =>
      tx
        .select()
        .from(executions)
        .where(where)
        .orderBy(...order)
        .limit(executionLimit),
    )) {
      for (const r of rows) await emit('execution', this.deps.executions.present(r));
    }

    const conversationLimit = EXPORT_BATCH_ROWS.conversation;
    for await (const rows of keyset(
      read,
      userId,
      conversations,
      conversationLimit,
      async (tx, where, order) => {
        const page = await tx
          .select()
          .from(conversations)
          .where(where)
          .orderBy(...order)
          .limit(conversationLimit);
        const ids = page.map((c) => c.id);
        const messages =
          ids.length === 0
            ? []
            : await tx
                .select()
                .from(chatMessages)
                .where(and(eq(chatMessages.userId, userId), inArray(chatMessages.conversationId, ids)))
                .orderBy(asc(chatMessages.conversationId), asc(chatMessages.seq));
        return page.map((c) => ({ ...c, messages: messages.filter((m) => m.conversationId === c.id) }));
      },
    )) {
      for (const c of rows) {
        await emit('conversation', {
          id: c.id,
          model: c.model,
          createdAt: iso(c.createdAt),
          updatedAt: iso(c.updatedAt),
          messages: c.messages.map((m) => this.deps.chat.present(m)),
        });
      }
    }

    const consentRows = await read((tx) => this.deps.consents.rows(tx, userId));
    for (const consent of presentConsents(consentRows)) await emit('consent', consent);
  }
}

/**
 * The least `idle_in_transaction_session_timeout` / `statement_timeout` of the snapshot transaction, in ms:
 * the backstop is twice the stall timeout but never below this, so it cannot fire before the stall timeout.
 */
export const EXPORT_BACKSTOP_MIN_MS = 60_000;

function ignore(): void {}

function iso(date: Date): string {
  return date.toISOString();
}

function isoOrNull(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
