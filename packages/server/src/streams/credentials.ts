import { STREAM_ERROR_EVENT, type StreamErrorEventSchemas } from '@fleece/sdk/contract';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { InvalidationListener, Invalidations } from '../db/invalidation.js';
import { PROBLEMS, type ProblemCode, problemType } from '../errors.js';
import { type CredentialCheck, credentialProblem, defaultScope, type Principal } from '../plugins/auth.js';
import { sseFrame } from './sse.js';

/** How often every open stream's credential is checked again, in ms, when no notification asked sooner. */
export const LIVE_STREAM_RECHECK_MS = 15_000;

/** What a tracked stream needs of its principal to go on. */
interface Needs {
  /** The API key scope of the route (API keys only). */
  scope: string;
  /** An administrator signed in with a session (`/api/v1/admin/*`). */
  admin: boolean;
}

interface Entry {
  principal: Principal;
  recheck: () => Promise<CredentialCheck>;
  needs: Needs;
  requestId: string;
  reply: FastifyReply;
  end: () => void;
  checking: boolean;
  again: boolean;
  /** While `true`, writes are held back (an invalidation named the credential and it is being re-checked). */
  held: boolean;
  /** Writes held back, in order; `end` set when the stream ended meanwhile. */
  pending: { chunks: unknown[][]; end: unknown[] | undefined };
  /** The response's own `write` and `end`, before {@link LiveStreams.track} wrapped them. */
  write: (...args: unknown[]) => boolean;
  rawEnd: (...args: unknown[]) => unknown;
}

/** Why a stream ended: the problem a new request with the same credential would get. */
export interface StreamEndProblem {
  code: ProblemCode;
  detail: string;
}

/**
 * The long-lived responses (Server-Sent Event streams) open on this instance, each tied to the credential
 * that opened it (API key, session, user). A stream ends as soon as that credential stops being valid:
 *
 * - every cross-instance invalidation ({@link Invalidations}: `k:<apiKeyId>`, `s:<sessionId>`,
 *   `u:<userId>`, or anything else for everything) re-checks the streams it names, on whichever instance
 *   they are open, right after the credential caches have dropped their entries. Until that re-check
 *   answers, what the stream writes is held back (so nothing written after a revocation, such as the
 *   `api_key.revoked` audit event itself, reaches the revoked credential); it is sent if the credential
 *   still holds, and dropped if not;
 * - every {@link LIVE_STREAM_RECHECK_MS} every stream is re-checked anyway (the backstop for what no
 *   notification announces: a CLI access token or an API key reaching its expiry, a session timing out);
 * - a stream opened after an invalidation that its request's authentication may have missed is re-checked
 *   at once.
 *
 * A stream whose credential fails gets one last `event: error` whose `data` is the RFC 9457 problem a new
 * request with that credential would get (`invalid_api_key`, `api_key_disabled`, `api_key_expired`,
 * `unauthenticated`, `account_pending_deletion`, `forbidden`, `insufficient_scope`), and the response ends.
 * A re-check that fails to reach the database leaves the stream open until the next one.
 */
export class LiveStreams implements InvalidationListener {
  private readonly entries = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by every invalidation; a request notes it when authenticated. */
  private epoch = 0;
  private readonly unsubscribe: () => void;

  constructor(
    invalidations: Invalidations,
    private readonly log: FastifyBaseLogger,
    private readonly recheckMs = LIVE_STREAM_RECHECK_MS,
  ) {
    this.unsubscribe = invalidations.subscribe(this);
  }

  /** How many streams are tracked on this instance. */
  get size(): number {
    return this.entries.size;
  }

  /** The current invalidation epoch (noted on each request before it authenticates). */
  get currentEpoch(): number {
    return this.epoch;
  }

  /**
   * Ties the stream answering `request` (already hijacked, headers sent) to the request's credential: when
   * the credential stops being valid, an `event: error` problem is written and `end` is called (default:
   * end the raw response). Untracked when the response closes. A request without a re-checkable
   * credential (none in production) is not tracked.
   */
  track(request: FastifyRequest, reply: FastifyReply, end?: () => void): void {
    const principal = request.principal;
    const recheck = request.recheckCredential;
    if (!principal || !recheck) return;
    const config = request.routeOptions.config;
    const entry: Entry = {
      principal,
      recheck,
      needs: {
        scope: config.scope ?? defaultScope(request.method),
        admin: request.routeOptions.url?.startsWith('/api/v1/admin/') ?? false,
      },
      requestId: request.id,
      reply,
      end: end ?? (() => reply.raw.end()),
      checking: false,
      again: false,
      held: false,
      pending: { chunks: [], end: undefined },
      write: reply.raw.write.bind(reply.raw) as Entry['write'],
      rawEnd: reply.raw.end.bind(reply.raw) as Entry['rawEnd'],
    };
    const res = reply.raw;
    if (res.writableEnded || res.destroyed) return;
    // Holding back writes while a re-check runs needs the response's own write and end.
    res.write = ((...args: unknown[]) => {
      if (!entry.held) return entry.write(...args);
      entry.pending.chunks.push(args);
      return true;
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      if (!entry.held) return entry.rawEnd(...args);
      entry.pending.end = args;
      return res;
    }) as typeof res.end;
    this.entries.add(entry);
    res.once('close', () => this.forget(entry));
    this.timer ??= setInterval(() => void this.sweep().catch((e) => this.failed(e)), this.recheckMs);
    this.timer.unref?.();
    if (request.authEpoch !== this.epoch) {
      entry.held = true;
      void this.check(entry);
    }
  }

  /** Re-checks every tracked stream now (the periodic backstop; tests call it after moving the clock). */
  async sweep(): Promise<void> {
    await Promise.all([...this.entries].map((entry) => this.check(entry)));
  }

  invalidate(payload: string): void {
    this.epoch++;
    const kind = payload.slice(0, 2);
    if (kind === 'm:') return;
    const id = payload.slice(2);
    const named = (entry: Entry) =>
      kind === 'k:'
        ? entry.principal.apiKeyId === id
        : kind === 's:'
          ? entry.principal.sessionId === id
          : kind === 'u:'
            ? entry.principal.userId === id
            : true;
    const matched = [...this.entries].filter(named);
    for (const entry of matched) entry.held = true;
    // After this dispatch: every credential cache has dropped its entries by then.
    if (matched.length > 0) {
      queueMicrotask(() => void Promise.all(matched.map((e) => this.check(e))).catch((e) => this.failed(e)));
    }
  }

  reset(): void {
    this.epoch++;
    for (const entry of this.entries) entry.held = true;
    queueMicrotask(() => void this.sweep().catch((e) => this.failed(e)));
  }

  /** Stops tracking (the app closes, and its streams end with it); what is held back is sent first. */
  close(): void {
    this.unsubscribe();
    clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.entries) this.release(entry);
    this.entries.clear();
  }

  private failed(error: unknown): void {
    this.log.warn({ err: error }, 'could not end a stream whose credential stopped being valid');
  }

  private forget(entry: Entry): void {
    this.entries.delete(entry);
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Re-checks one stream's credential; concurrent calls coalesce into one more round. */
  private async check(entry: Entry): Promise<void> {
    if (entry.checking) {
      entry.again = true;
      return;
    }
    entry.checking = true;
    try {
      do {
        entry.again = false;
        if (!this.entries.has(entry)) return;
        let problem: StreamEndProblem | undefined;
        try {
          problem = this.verdict(entry, await entry.recheck());
        } catch (error) {
          this.log.warn(
            { err: error },
            'could not re-check the credential of an open stream; retrying later',
          );
          break;
        }
        if (problem) {
          this.abort(entry, problem);
          return;
        }
      } while (entry.again);
      this.release(entry);
    } finally {
      entry.checking = false;
    }
  }

  /** Sends what was held back while the credential was re-checked. */
  private release(entry: Entry): void {
    if (!entry.held) return;
    entry.held = false;
    const { chunks, end } = entry.pending;
    entry.pending = { chunks: [], end: undefined };
    for (const args of chunks) entry.write(...args);
    if (end) entry.rawEnd(...end);
  }

  /** Why the stream must end, or `undefined` while its credential still allows it. */
  private verdict(entry: Entry, check: CredentialCheck): StreamEndProblem | undefined {
    if (!check.ok) return credentialProblem(check.failure);
    const now = check.principal;
    const was = entry.principal;
    if (now.userId !== was.userId || now.apiKeyId !== was.apiKeyId || now.sessionId !== was.sessionId) {
      return credentialProblem('invalid');
    }
    if (now.pendingDeletion) {
      return {
        code: 'account_pending_deletion',
        detail:
          'This account is scheduled for deletion, so its streams have ended. POST /api/v1/account/deletion/cancel (or `fleece account delete --cancel`) cancels the deletion.',
      };
    }
    if (entry.needs.admin && (now.role !== 'admin' || now.type !== 'session')) {
      return { code: 'forbidden', detail: 'This stream is for administrators only.' };
    }
    if (now.type === 'api_key' && !now.scopes?.includes(entry.needs.scope as never)) {
      return {
        code: 'insufficient_scope',
        detail: `This API key lacks the \`${entry.needs.scope}\` scope this stream needs.`,
      };
    }
    return undefined;
  }

  /** Writes the final `event: error` problem and ends the stream. */
  private abort(entry: Entry, problem: StreamEndProblem): void {
    this.forget(entry);
    // What was held back was written after the credential stopped being valid: dropped.
    entry.held = false;
    entry.pending = { chunks: [], end: undefined };
    const res = entry.reply.raw;
    if (!res.writableEnded && !res.destroyed) {
      const body = {
        type: problemType(problem.code),
        title: PROBLEMS[problem.code].title,
        status: PROBLEMS[problem.code].status,
        detail: problem.detail,
        code: problem.code,
        requestId: entry.requestId,
      };
      entry.write(sseFrame<typeof StreamErrorEventSchemas>({ event: STREAM_ERROR_EVENT, data: body }));
    }
    entry.end();
    if (!res.writableEnded) entry.rawEnd();
  }
}
