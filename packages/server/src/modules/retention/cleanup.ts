import { lt } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { billingWebhookEvents } from '../../db/schema/billing.js';
import {
  authorizationCodes,
  deviceAuthorizations,
  magicLinkTokens,
  refreshTokens,
} from '../../db/schema/identity.js';
import { withScope } from '../../db/tenant.js';

/** How long after it expires a sign-in artifact is deleted: 1 day (86,400,000 ms). */
export const SIGN_IN_ARTIFACT_GRACE_MS = 86_400_000;

/** How long an applied Stripe event id is kept: 30 days (Stripe retries a webhook for up to 3 days). */
export const WEBHOOK_EVENT_RETENTION_MS = 30 * 86_400_000;

/** What one cleanup deleted, per table. */
export interface CleanupReport {
  magicLinks: number;
  deviceAuthorizations: number;
  authorizationCodes: number;
  refreshTokens: number;
  billingWebhookEvents: number;
}

/**
 * Deletes what sign-in and billing leave behind once it can no longer be used (docs/operations.md "Data
 * lifecycle", claim C28): magic-link tokens (an email and the requesting IP), device authorizations (the
 * requesting IP and user agent), authorization codes and refresh tokens whose `expiresAt` is more than
 * {@link SIGN_IN_ARTIFACT_GRACE_MS} before `now`, used or not; and `billing_webhook_events` rows processed
 * more than {@link WEBHOOK_EVENT_RETENTION_MS} before `now` (a redelivery after that is far past Stripe's
 * 3-day retry window). `now` comes from the app clock.
 *
 * The sign-in tables are reached through the `cleanup` row-level security scope (drizzle/0017_cleanup.sql),
 * which may only read and delete them. One statement per table, each in its own transaction.
 */
export async function cleanupExpired(db: Db, now: Date): Promise<CleanupReport> {
  const expired = new Date(now.getTime() - SIGN_IN_ARTIFACT_GRACE_MS);
  const cleanup = <T>(fn: (tx: Db) => Promise<T[]>) => withScope(db, { cleanup: true }, fn);
  const magicLinks = await cleanup((tx) =>
    tx
      .delete(magicLinkTokens)
      .where(lt(magicLinkTokens.expiresAt, expired))
      .returning({ id: magicLinkTokens.id }),
  );
  const devices = await cleanup((tx) =>
    tx
      .delete(deviceAuthorizations)
      .where(lt(deviceAuthorizations.expiresAt, expired))
      .returning({ id: deviceAuthorizations.id }),
  );
  const codes = await cleanup((tx) =>
    tx
      .delete(authorizationCodes)
      .where(lt(authorizationCodes.expiresAt, expired))
      .returning({ id: authorizationCodes.id }),
  );
  const tokens = await cleanup((tx) =>
    tx.delete(refreshTokens).where(lt(refreshTokens.expiresAt, expired)).returning({ id: refreshTokens.id }),
  );
  const events = await db
    .delete(billingWebhookEvents)
    .where(lt(billingWebhookEvents.processedAt, new Date(now.getTime() - WEBHOOK_EVENT_RETENTION_MS)))
    .returning({ id: billingWebhookEvents.id });
  return {
    magicLinks: magicLinks.length,
    deviceAuthorizations: devices.length,
    authorizationCodes: codes.length,
    refreshTokens: tokens.length,
    billingWebhookEvents: events.length,
  };
}
