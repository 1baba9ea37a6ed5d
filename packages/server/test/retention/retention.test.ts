import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DAILY_CRON, DAILY_JOB } from '../../src/modules/retention/plugin.js';
import { type TestUser, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { runJobs } from '../helpers/jobs.js';

const DAY = 86_400_000;

describe('history retention by plan', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

  /** An execution of `user` created now (app clock) with `events` stored events. */
  const execution = async (user: TestUser, events = 2): Promise<string> => {
    const exe = id('exe');
    const at = t.clock.now();
    await t.db.ownerQuery(
      `insert into executions (id, user_id, status, model, provider, key_id, input, created_at)
       values ($1, $2, 'succeeded', 'mock', 'mock', 'k1', '\\x00', $3)`,
      [exe, user.userId, at],
    );
    for (let seq = 1; seq <= events; seq++) {
      await t.db.ownerQuery(
        `insert into execution_events (execution_id, seq, user_id, type, key_id, data, created_at)
         values ($1, $2, $3, 'delta', 'k1', '\\x00', $4)`,
        [exe, seq, user.userId, at],
      );
    }
    return exe;
  };

  /** A conversation of `user` created now (app clock) with two messages. */
  const conversation = async (user: TestUser): Promise<string> => {
    const cnv = id('cnv');
    const at = t.clock.now();
    await t.db.ownerQuery(
      `insert into conversations (id, user_id, model, created_at, updated_at) values ($1, $2, 'mock', $3, $3)`,
      [cnv, user.userId, at],
    );
    for (const [seq, role] of [
      [1, 'user'],
      [2, 'assistant'],
    ] as const) {
      await t.db.ownerQuery(
        `insert into chat_messages (conversation_id, seq, user_id, role, key_id, content, created_at)
         values ($1, $2, $3, $4, 'k1', '\\x00', $5)`,
        [cnv, seq, user.userId, role, at],
      );
    }
    return cnv;
  };

  /** A new message in conversation `cnv` now: the conversation is active again. */
  const touch = (cnv: string) =>
    t.db.ownerQuery('update conversations set updated_at = $1 where id = $2', [t.clock.now(), cnv]);

  const counts = async (user: TestUser) => {
    const [row] = await t.db.ownerQuery<Record<string, number>>(
      `select (select count(*)::int from executions where user_id = $1) as executions,
              (select count(*)::int from execution_events where user_id = $1) as events,
              (select count(*)::int from conversations where user_id = $1) as conversations,
              (select count(*)::int from chat_messages where user_id = $1) as messages`,
      [user.userId],
    );
    return row!;
  };

  it('deletes executions, their events and conversations older than each plan’s window (Free 7, Pro 30, Business 90, Enterprise 365 days), in batches, and nothing else', async () => {
    t = await buildTestApp();
    const plans = [
      ['free', 7],
      ['pro', 30],
      ['business', 90],
      ['enterprise', 365],
    ] as const;
    const users: Record<string, TestUser> = {};
    for (const [plan] of plans) users[plan] = await userOnPlan(t, `${plan}@example.test`, plan);
    const start = t.clock.now().getTime();

    // Day 0: three executions and two conversations each; one of the conversations stays active.
    const active: Record<string, string> = {};
    for (const [plan] of plans) {
      for (let i = 0; i < 3; i++) await execution(users[plan]!);
      await conversation(users[plan]!);
      active[plan] = await conversation(users[plan]!);
    }
    // Day 100: one more execution each, and a message in the active conversation.
    t.clock.advance(100 * DAY);
    for (const [plan] of plans) {
      await execution(users[plan]!);
      await touch(active[plan]!);
    }
    const audit = await t.db.ownerQuery<{ n: number }>('select count(*)::int as n from audit_events');

    // Day 107, one millisecond past Free's window for the day-100 rows.
    t.clock.advance(7 * DAY + 1);
    expect(t.clock.now().getTime() - start).toBe(107 * DAY + 1);
    const report = await t.app.retention.run({ batchSize: 2 });
    expect(report).toEqual({ accounts: 4, executions: 4 + 3 + 3, conversations: 2 + 1 + 1 });
    expect(await counts(users.free!)).toEqual({ executions: 0, events: 0, conversations: 0, messages: 0 });
    // Pro (30) and Business (90): the day-0 rows are gone, day 100 stays.
    for (const plan of ['pro', 'business']) {
      expect(await counts(users[plan]!), plan).toEqual({
        executions: 1,
        events: 2,
        conversations: 1,
        messages: 2,
      });
    }
    // Enterprise (365): everything stays.
    expect(await counts(users.enterprise!)).toEqual({
      executions: 4,
      events: 8,
      conversations: 2,
      messages: 4,
    });

    // Audit events are not touched, and the chains still verify.
    expect(await t.db.ownerQuery('select count(*)::int as n from audit_events')).toEqual(audit);
    expect(await t.app.audit.verify({ kind: 'all' })).toMatchObject({ valid: true });

    // Exactly at the window's edge a row stays; one millisecond older, it goes (Pro, day 100 + 30).
    t.clock.advance(30 * DAY - 7 * DAY - 1);
    expect((await t.app.retention.applyTo(users.pro!.userId, 2)).executions).toBe(0);
    t.clock.advance(1);
    expect(await t.app.retention.applyTo(users.pro!.userId, 2)).toEqual({ executions: 1, conversations: 1 });
  });

  it('applies a downgrade’s shorter window from the next run', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'business');
    await execution(ada, 1); // day 0
    t.clock.advance(20 * DAY);
    await execution(ada, 1); // day 20
    t.clock.advance(15 * DAY);
    await execution(ada, 1); // day 35
    t.clock.advance(5 * DAY); // day 40

    expect((await t.app.retention.run()).executions).toBe(0); // Business: 90 days
    await t.db.ownerQuery("update users set plan = 'pro' where id = $1", [ada.userId]);
    t.app.invalidations.afterCommit(`u:${ada.userId}`);
    expect((await t.app.retention.run()).executions).toBe(1); // Pro: 30 days, day 0 goes
    await t.db.ownerQuery("update users set plan = 'free' where id = $1", [ada.userId]);
    expect((await t.app.retention.run()).executions).toBe(1); // Free: 7 days, day 20 goes
    expect(await counts(ada)).toMatchObject({ executions: 1, events: 1 });
  });

  it('honours an Enterprise override of the window', async () => {
    t = await buildTestApp();
    const big = await userOnPlan(t, 'big@example.test', 'enterprise');
    await execution(big);
    await t.db.ownerQuery(
      `insert into account_limits (user_id, limits, updated_at) values ($1, '{"historyRetentionDays": 400}', $2)`,
      [big.userId, t.clock.now()],
    );
    t.clock.advance(399 * DAY);
    expect((await t.app.retention.run()).executions).toBe(0);
    t.clock.advance(2 * DAY);
    expect((await t.app.retention.run()).executions).toBe(1);
  });

  it('runs as the daily job, scheduled at 03:17 UTC', async () => {
    t = await buildTestApp();
    const ada = await userOnPlan(t, 'ada@example.test', 'free');
    await execution(ada);
    expect(await t.app.jobs.schedules(DAILY_JOB)).toEqual([
      expect.objectContaining({ name: DAILY_JOB, cron: DAILY_CRON }),
    ]);
    expect(DAILY_CRON).toBe('17 3 * * *');
    t.clock.advance(8 * DAY);
    await t.app.jobs.send(DAILY_JOB, {}); // what the schedule sends
    const ran = await runJobs(t.app, DAILY_JOB);
    expect(ran.map((j) => j.outcome)).toEqual(['completed']);
    expect(await counts(ada)).toMatchObject({ executions: 0, events: 0 });
  });
});
