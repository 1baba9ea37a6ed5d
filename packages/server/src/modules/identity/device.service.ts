import { randomInt } from 'node:crypto';
import {
  DEVICE_POLL_INTERVAL_DEFAULT,
  DEVICE_SLOW_DOWN_SECONDS,
  type DeviceAuthorizationResponse,
  type DeviceLookupResponse,
} from '@fleece/sdk/contract';
import { and, eq, gt } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { deviceAuthorizations } from '../../db/schema/identity.js';
import { withScope } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { hashSecret, newId, randomSecret } from '../../lib/secrets.js';
import type { Audit, AuditCtx } from './audit.js';
import { assertKnownClient, type GrantService } from './grants.service.js';
import { OAuthError } from './oauth-error.js';

/** Letters of user codes: 20 consonants, no vowels (no words), no look-alikes beyond case (RFC 8628 §6.1). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** Lifetime of a device authorization, in seconds (RFC 8628 §3.2 `expires_in`; 600–900 asked). */
export const DEVICE_CODE_TTL_S = 900;

/**
 * The scopes a device authorization may request (RFC 6749 §3.3): none. A CLI session acts for its whole
 * account, as the web session does, so `scope` is left out; a request naming any scope is refused with
 * `invalid_scope` rather than granted more or less than it asked for.
 */
export const DEVICE_SCOPES: ReadonlySet<string> = new Set<string>();

/** A new user code: 8 letters of {@link USER_CODE_ALPHABET} (20^8 ≈ 2^34.6), normalised (no hyphen). */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** `WDJBMJHT` → `WDJB-MJHT`, as shown to people. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * Normalises a typed user code: case, hyphens and spaces do not matter (RFC 8628 §6.1).
 * @returns the 8 upper-case letters, or `undefined` when the input cannot be a user code.
 */
export function normaliseUserCode(input: string): string | undefined {
  const code = input.replace(/[\s-]/g, '').toUpperCase();
  if (code.length !== 8) return undefined;
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return undefined;
  return code;
}

type DeviceRow = typeof deviceAuthorizations.$inferSelect;

/** What {@link DeviceService} is built from (its dependencies and settings). */
export interface DeviceServiceOptions {
  db: Db;
  clock: Clock;
  publicUrl: string;
  grants: GrantService;
  audit: Audit;
}

/**
 * The device authorization grant (RFC 8628): starting one, polling for tokens, and the user's decision
 * on the `/device` page.
 */
export class DeviceService {
  constructor(private readonly deps: DeviceServiceOptions) {}

  /**
   * Device authorization request (RFC 8628 §3.1–3.2): stores the request (device code hashed) and answers
   * with the codes, the verification URIs, `expires_in` ({@link DEVICE_CODE_TTL_S}) and `interval` (5 s).
   * @throws {OAuthError} `invalid_client` for an unknown client; `invalid_scope` for a `scope` naming any
   *   scope outside {@link DEVICE_SCOPES} (RFC 6749 §3.3, RFC 8628 §3.1).
   */
  async authorize(input: {
    clientId: string;
    scope: string | undefined;
    ip: string | undefined;
    userAgent: string | undefined;
  }): Promise<DeviceAuthorizationResponse> {
    assertKnownClient(input.clientId);
    const unknown = (input.scope ?? '').split(' ').filter((s) => s !== '' && !DEVICE_SCOPES.has(s));
    if (unknown.length > 0) {
      throw new OAuthError(
        'invalid_scope',
        `The device flow grants no scopes (a CLI session acts for its whole account): leave scope out, not "${unknown[0]!.slice(0, 64)}".`,
      );
    }
    const deviceCode = randomSecret();
    const deviceCodeHash = hashSecret(deviceCode);
    const now = this.deps.clock.now();
    for (let attempt = 0; ; attempt++) {
      const userCode = newUserCode();
      try {
        // The request's own scope: its row is visible through its device code (hashed) or user code only.
        await withScope(this.deps.db, { credential: deviceCodeHash }, (tx) =>
          tx.insert(deviceAuthorizations).values({
            id: newId('dev'),
            deviceCodeHash,
            userCode,
            clientId: input.clientId,
            scope: input.scope ?? null,
            requestIp: input.ip ?? null,
            requestUserAgent: input.userAgent?.slice(0, 512) ?? null,
            intervalSeconds: DEVICE_POLL_INTERVAL_DEFAULT,
            createdAt: now,
            expiresAt: new Date(now.getTime() + DEVICE_CODE_TTL_S * 1000),
          }),
        );
        const shown = formatUserCode(userCode);
        return {
          device_code: deviceCode,
          user_code: shown,
          verification_uri: `${this.deps.publicUrl}/device`,
          verification_uri_complete: `${this.deps.publicUrl}/device?user_code=${shown}`,
          expires_in: DEVICE_CODE_TTL_S,
          interval: DEVICE_POLL_INTERVAL_DEFAULT,
        };
      } catch (error) {
        // A live request already shows this user code (unique index): draw another, a few times at most.
        if (attempt >= 4) throw error;
      }
    }
  }

  /**
   * Device access token request (RFC 8628 §3.4–3.5). Polls are serialised per device code. A poll sooner
   * than the current interval after the previous one answers `slow_down` and adds 5 s to the interval
   * for this and every later poll. An approved request yields tokens exactly once.
   * @throws {OAuthError} `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, or
   *   `invalid_grant` (unknown code, other client, already used); `invalid_client`.
   */
  async token(input: { deviceCode: string; clientId: string; ctx: AuditCtx }) {
    assertKnownClient(input.clientId);
    return withScope(this.deps.db, { credential: hashSecret(input.deviceCode) }, async (tx) => {
      const now = this.deps.clock.now();
      const [row] = await tx
        .select()
        .from(deviceAuthorizations)
        .where(eq(deviceAuthorizations.deviceCodeHash, hashSecret(input.deviceCode)))
        .for('update');
      if (!row || row.clientId !== input.clientId) {
        throw new OAuthError('invalid_grant', 'The device code is unknown.');
      }
      if (row.status === 'consumed') {
        throw new OAuthError('invalid_grant', 'The device code was already exchanged for tokens.');
      }
      if (now >= row.expiresAt) {
        throw new OAuthError('expired_token', 'The device code has expired. Start again.');
      }
      const tooSoon =
        row.lastPolledAt !== null && now.getTime() - row.lastPolledAt.getTime() < row.intervalSeconds * 1000;
      const intervalSeconds = row.intervalSeconds + (tooSoon ? DEVICE_SLOW_DOWN_SECONDS : 0);
      if (row.status !== 'approved' || tooSoon) {
        await tx
          .update(deviceAuthorizations)
          .set({ lastPolledAt: now, intervalSeconds })
          .where(eq(deviceAuthorizations.id, row.id));
      }
      if (tooSoon) {
        // Committed on purpose: the longer interval holds for every later poll (RFC 8628 §3.5).
        return { error: new OAuthError('slow_down', `Poll at most every ${intervalSeconds} seconds.`) };
      }
      if (row.status === 'denied') {
        return { error: new OAuthError('access_denied', 'The user denied this device.') };
      }
      if (row.status === 'pending') {
        return {
          error: new OAuthError('authorization_pending', 'The user has not approved this device yet.'),
        };
      }
      const [claimed] = await tx
        .update(deviceAuthorizations)
        .set({ status: 'consumed', lastPolledAt: now })
        .where(and(eq(deviceAuthorizations.id, row.id), eq(deviceAuthorizations.status, 'approved')))
        .returning();
      if (!claimed?.userId) throw new OAuthError('invalid_grant', 'The device code was already used.');
      const issued = await this.deps.grants.issueForNewSession(tx, {
        userId: claimed.userId,
        clientId: claimed.clientId,
        method: 'device',
        ctx: input.ctx,
      });
      return { issued };
    }).then((result) => {
      if ('error' in result) throw result.error;
      return result.issued.response;
    });
  }

  private async live(code: string): Promise<DeviceRow | undefined> {
    const [row] = await withScope(this.deps.db, { credential: code }, (tx) =>
      tx
        .select()
        .from(deviceAuthorizations)
        .where(
          and(
            eq(deviceAuthorizations.userCode, code),
            eq(deviceAuthorizations.status, 'pending'),
            gt(deviceAuthorizations.expiresAt, this.deps.clock.now()),
          ),
        ),
    );
    return row;
  }

  /**
   * Finds the pending request showing `userCode` for the `/device` page: which client asks, from which
   * address and user agent, and until when.
   * @returns `undefined` when no pending, unexpired request shows that code.
   */
  async lookup(userCode: string): Promise<DeviceLookupResponse | undefined> {
    const code = normaliseUserCode(userCode);
    const row = code ? await this.live(code) : undefined;
    if (!row) return undefined;
    return {
      userCode: formatUserCode(row.userCode),
      clientId: row.clientId,
      scope: row.scope,
      requestIp: row.requestIp,
      requestUserAgent: row.requestUserAgent,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
    };
  }

  /**
   * Records the signed-in user's decision on the request showing `userCode` (once; a decided or expired
   * request cannot be changed) and `auth.device.authorized` or `auth.device.denied`.
   * @returns `undefined` when no pending, unexpired request shows that code.
   */
  async decide(input: {
    userCode: string;
    approve: boolean;
    userId: string;
    ctx: AuditCtx;
  }): Promise<'approved' | 'denied' | undefined> {
    const code = normaliseUserCode(input.userCode);
    if (!code) return undefined;
    const status = input.approve ? 'approved' : 'denied';
    return withScope(this.deps.db, { credential: code, userId: input.userId }, async (tx) => {
      const now = this.deps.clock.now();
      const [row] = await tx
        .update(deviceAuthorizations)
        .set({ status, userId: input.userId, decidedAt: now })
        .where(
          and(
            eq(deviceAuthorizations.userCode, code),
            eq(deviceAuthorizations.status, 'pending'),
            gt(deviceAuthorizations.expiresAt, now),
          ),
        )
        .returning();
      if (!row) return undefined;
      await this.deps.audit.record(tx, input.ctx, {
        action: input.approve ? 'auth.device.authorized' : 'auth.device.denied',
        resourceType: 'device_authorization',
        resourceId: row.id,
        outcome: input.approve ? 'success' : 'denied',
        subjectUserId: input.userId,
        metadata: { clientId: row.clientId },
      });
      return status;
    });
  }
}
