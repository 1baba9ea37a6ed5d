import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { withScope } from '../../src/db/tenant.js';
import { cleanupExpired } from '../../src/modules/retention/cleanup.js';
import { DAILY_JOB } from '../../src/modules/retention/plugin.js';
import { userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { runJobs } from '../helpers/jobs.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('daily cleanup of sign-in artifacts and Stripe event ids', { timeout: 120_000 }, () => {
  let t: TestApp;
  afterEach(() => t?.close());

  const hex = () => randomBytes(12).toString('hex');

  /** One row in each sign-in table expiring `expiresIn` ms from now (app clock), for `userId`. */
  async function artifacts(userId: string, sessionId: string, expiresIn: number): Promise<void> {
    const now = t.clock.now();
    const expires = new Date(now.getTime() + expiresIn);
    await t.db.ownerQuery(
      `insert into magic_link_tokens (id, token_hash, email, return_to, request_ip, created_at, expires_at)
       values ($1, $2, 'ada@example.test', '/', '203.0.113.7', $3, $4)`,
      [`mlt_${hex()}`, hex(), now, expires],
    );
    await t.db.ownerQuery(
      `insert into device_authorizations (id, device_code_hash, user_code, client_id, request_ip, interval_seconds,
       created_at, expires_at) values ($1, $2, $3, 'fleece-cli', '203.0.113.7', 5, $4, $5)`,
      [`dev_${hex()}`, hex(), hex().slice(0, 8), now, expires],
    );
    await t.db.ownerQuery(
      `insert into authorization_codes (id, code_hash, user_id, client_id, redirect_uri, code_challenge, created_at, expires_at)
       values ($1, $2, $3, 'fleece-cli', 'http://127.0.0.1:5555/callback', $4, $5, $6)`,
      [`acd_${hex()}`, hex(), userId, hex(), now, expires],
    );
    await t.db.ownerQuery(
      `insert into refresh_tokens (id, session_id, user_id, token_hash, created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6)`,
      [`rft_${hex()}`, sessionId, userId, hex(), now, expires],
    );
  }

  /** A Stripe event id processed `offset` ms from now (app clock). */
  const stripeEvent = (offset = 0) =>
    t.db.ownerQuery(
      `insert into billing_webhook_events (id, type, processed_at) values ($1, 'invoice.paid', $2)`,
      [`evt_${hex()}`, new Date(t.clock.now().getTime() + offset)],
    );

  const remaining = async () =>
    Object.fromEntries(
      await Promise.all(
        [
          'magic_link_tokens',
          'device_authorizations',
          'authorization_codes',
          'refresh_tokens',
          'billing_webhook_events',
        ].map(async (table) => {
          const [row] = await t.db.ownerQuery<{ n: number }>(`select count(*)::int as n from ${table}`);
          return [table, row!.n];
        }),
      ),
    );

  it('deletes each a day after it expires, and Stripe event ids after 30 days, with exact counts', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const [session] = await t.db.ownerQuery<{ id: string }>('select id from sessions where user_id = $1', [
      ada.userId,
    ]);
    // Whatever signing in left behind is not part of this count.
    for (const table of [
      'magic_link_tokens',
      'device_authorizations',
      'authorization_codes',
      'refresh_tokens',
    ]) {
      await t.db.ownerQuery(`delete from ${table}`);
    }
    await artifacts(ada.userId, session!.id, HOUR); // short-lived, as issued
    await artifacts(ada.userId, session!.id, 3 * DAY);
    await stripeEvent();
    await stripeEvent(25 * DAY);

    // Expired, but within the day of grace: nothing goes.
    t.clock.advance(HOUR + DAY);
    expect(await cleanupExpired(t.app.db, t.clock.now())).toEqual({
      magicLinks: 0,
      deviceAuthorizations: 0,
      authorizationCodes: 0,
      refreshTokens: 0,
      billingWebhookEvents: 0,
    });
    t.clock.advance(1);
    expect(await cleanupExpired(t.app.db, t.clock.now())).toEqual({
      magicLinks: 1,
      deviceAuthorizations: 1,
      authorizationCodes: 1,
      refreshTokens: 1,
      billingWebhookEvents: 0,
    });
    // Day 30 + 1 ms, through the daily job: the 3-day artifacts and the first Stripe event id go.
    t.clock.advance(30 * DAY - HOUR - DAY);
    await t.app.jobs.send(DAILY_JOB, {});
    const ran = await runJobs(t.app, DAILY_JOB);
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    expect(await remaining()).toEqual({
      magic_link_tokens: 0,
      device_authorizations: 0,
      authorization_codes: 0,
      refresh_tokens: 0,
      billing_webhook_events: 1,
    });
    t.clock.advance(25 * DAY);
    expect((await cleanupExpired(t.app.db, t.clock.now())).billingWebhookEvents).toBe(1);
  });

  it('the cleanup scope cannot insert into the sign-in tables', async () => {
    t = await buildTestApp();
    const error = await withScope(t.app.db, { cleanup: true }, (tx) =>
      tx.execute(
        sql`insert into magic_link_tokens (id, token_hash, email, return_to, created_at, expires_at)
            values ('mlt_x', 'h', 'x@example.test', '/', now(), now())`,
      ),
    ).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(`${error?.message} ${(error?.cause as Error | undefined)?.message}`).toMatch(/row-level security/);
  });
});
