import { CONSENT_TYPES, type Consent, type ConsentType } from '@fleece/sdk/contract';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { consents } from '../../db/schema/consents.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { AuditContext, AuditService } from '../audit/service.js';

/**
 * The version of the policy text in force for each consent type. Granting records this version; a grant
 * of an older version no longer counts (`granted: false`), so changing a policy text in a way users must
 * agree to again means bumping its version here (and saying so in the changelog). Versions are the date
 * the text took effect, `YYYY-MM-DD`.
 *
 * - `ai_processing`: prompts, agent inputs and conversations are sent to the configured AI providers for
 *   real-time inference only, never to train models (docs/security.md, claim C31);
 * - `product_email`: product news by email;
 * - `terms`: the terms of service.
 */
export const CONSENT_POLICY_VERSIONS: Readonly<Record<ConsentType, string>> = Object.freeze({
  ai_processing: '2026-11-01',
  product_email: '2026-11-01',
  terms: '2026-11-01',
});

type ConsentRow = typeof consents.$inferSelect;

function present(type: ConsentType, row: ConsentRow | undefined): Consent {
  const currentPolicyVersion = CONSENT_POLICY_VERSIONS[type];
  return {
    type,
    granted: row ? row.granted && row.policyVersion === currentPolicyVersion : false,
    policyVersion: row?.policyVersion ?? null,
    currentPolicyVersion,
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

/** The wire form of a user's consent rows: every type, in {@link CONSENT_TYPES} order. */
export function presentConsents(rows: readonly ConsentRow[]): Consent[] {
  return CONSENT_TYPES.map((type) =>
    present(
      type,
      rows.find((r) => r.type === type),
    ),
  );
}

/**
 * The problem answered when an AI operation runs without the `ai_processing` consent: 403
 * `consent_required`, saying how to grant it (CLI command and settings page).
 */
export function consentRequired(publicUrl: string, type: ConsentType = 'ai_processing'): ProblemError {
  const settings = new URL('/settings', publicUrl).href;
  return new ProblemError(
    'consent_required',
    `This needs your \`${type}\` consent (version ${CONSENT_POLICY_VERSIONS[type]}): AI prompts and content are sent to the AI provider for real-time inference only, never for training. Grant it with \`fleece account consent ${type} --grant\`, on the settings page (${settings}), or with \`PUT /api/v1/account/consents/${type}\` and \`{"granted": true}\`.`,
    { consent: type },
  );
}

/** What {@link ConsentService} is built from (its dependencies and settings). */
export interface ConsentServiceOptions {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/**
 * Consents (issue 7, claim C31): each user's latest decision per {@link CONSENT_TYPES} type, with the policy
 * version it was made against and when. A change records `consent.granted` or `consent.revoked` in the same
 * transaction; a decision that changes nothing (granting what is already granted for the current version,
 * revoking what is not granted) records nothing. Decorated on the app as `app.consents`.
 */
export class ConsentService {
  constructor(private readonly deps: ConsentServiceOptions) {}

  /** Every consent type of `userId`, in {@link CONSENT_TYPES} order (undecided ones read `granted: false`). */
  async list(userId: string): Promise<Consent[]> {
    return presentConsents(await withUser(this.deps.db, userId, (tx) => this.rows(tx, userId)));
  }

  /** The consent rows of `userId` inside `tx` (in `userId`'s scope), as stored. */
  rows(tx: Db, userId: string): Promise<ConsentRow[]> {
    return tx.select().from(consents).where(eq(consents.userId, userId));
  }

  /** Whether `userId` has granted `type` for its current policy version (one indexed read). */
  has(userId: string, type: ConsentType): Promise<boolean> {
    return withUser(this.deps.db, userId, (tx) => this.holds(tx, userId, type));
  }

  /**
   * {@link has} inside `tx` (in `userId`'s scope), so a guarded change checks the consent in its own
   * transaction (one statement, no transaction of its own).
   */
  async holds(tx: Db, userId: string, type: ConsentType): Promise<boolean> {
    const [row] = await tx
      .select()
      .from(consents)
      .where(and(eq(consents.userId, userId), eq(consents.type, type)));
    return present(type, row).granted;
  }

  /**
   * Grants (`granted: true`, for the current policy version) or revokes consent `type` for `userId`, and
   * records `consent.granted` / `consent.revoked` (metadata: `policyVersion`) when the decision changes.
   * @returns the consent as it now stands.
   */
  async set(ctx: AuditContext, userId: string, type: ConsentType, granted: boolean): Promise<Consent> {
    const policyVersion = CONSENT_POLICY_VERSIONS[type];
    const row = await withUser(this.deps.db, userId, async (tx) => {
      const [before] = await tx
        .select()
        .from(consents)
        .where(and(eq(consents.userId, userId), eq(consents.type, type)))
        .for('update');
      if (present(type, before).granted === granted && (granted || before)) return before!;
      const values = { granted, policyVersion, updatedAt: this.deps.clock.now() };
      const [after] = await tx
        .insert(consents)
        .values({ userId, type, ...values })
        .onConflictDoUpdate({ target: [consents.userId, consents.type], set: values })
        .returning();
      await this.deps.audit.record(tx, ctx, {
        action: granted ? 'consent.granted' : 'consent.revoked',
        resourceType: 'consent',
        resourceId: type,
        outcome: 'success',
        metadata: { policyVersion },
      });
      return after!;
    });
    return present(type, row);
  }
}
