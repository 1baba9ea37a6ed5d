import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallbackQueryClient } from '../../src/db/client.js';
import { bearer, createKey, userOnPlan } from '../helpers/accounts.js';
import { backend, buildTestApp, type TestApp } from '../helpers/app.js';
import { createAgent } from '../helpers/flows.js';

/**
 * The database budget of one execution (docs/architecture.md, "The hot path of an execution"): an
 * execution through `POST /api/v1/agents/:id/execute` with an API key, JSON or streamed, once the key and
 * the plan are cached, costs {@link TRANSACTIONS} transactions of {@link STATEMENTS} statements (the start
 * and the end), plus the audit log's notification of its `agent.executed` event: one statement after the
 * start commits, batched with other events, and a second one when it ran before the commit was visible
 * ({@link AUDIT_NOTIFICATIONS} at most). A statement outside a transaction counts as a transaction of its
 * own; `BEGIN`, `COMMIT` and `ROLLBACK` are not statements.
 */
const TRANSACTIONS = 2;
/** At most this many statements per execution in those transactions. */
const STATEMENTS = 10;
/** At most this many audit notification statements per execution (each its own transaction). */
const AUDIT_NOTIFICATIONS = 2;

/** Whether `statement` is the audit log's notification of committed events. */
const isAuditNotification = (statement: string) =>
  statement.includes('pg_notify') && !statement.startsWith('select pg_notify(');

/** What the app sent to the database while counting. */
interface Tally {
  transactions: number;
  statements: string[];
  stop(): void;
}

/**
 * Counts what the app sends to the database from now on: on PostgreSQL every query of the pool's clients
 * (the LISTEN connection is not one of them), on PGlite every query on its one connection except the
 * stream hub's `LISTEN` / `UNLISTEN` (on PostgreSQL those go to the dedicated listening connection).
 */
function tally(t: TestApp): Tally {
  const result: Tally = { transactions: 0, statements: [], stop() {} };
  const record = (text: string, inTransaction: boolean) => {
    const s = text.trim().replace(/\s+/g, ' ').toLowerCase();
    if (s === 'begin' || s.startsWith('begin ')) {
      result.transactions++;
      result.statements.push('BEGIN');
    } else if (s === 'commit' || s === 'rollback' || /^(un)?listen /.test(s)) return;
    else {
      if (!inTransaction) result.transactions++;
      result.statements.push(s.slice(0, 100));
    }
  };
  if (backend === 'postgres') {
    const original = CallbackQueryClient.prototype.query;
    const open = new WeakSet<object>();
    // biome-ignore lint/suspicious/noExplicitAny: node-postgres's overloads, passed through unchanged
    CallbackQueryClient.prototype.query = function (this: object, config: any, values?: any, cb?: any) {
      const text: string = typeof config === 'string' ? config : (config?.text ?? '');
      const s = text.trim().toLowerCase();
      if (s === 'begin') open.add(this);
      record(text, open.has(this));
      if (s === 'commit' || s === 'rollback') open.delete(this);
      return original.call(this, config, values, cb);
    };
    result.stop = () => {
      CallbackQueryClient.prototype.query = original;
    };
    return result;
  }
  const connection = t.db.database.connection;
  if (connection.kind !== 'pglite') throw new Error('expected PGlite');
  type Query = (text: string, ...rest: unknown[]) => Promise<unknown>;
  type Connection = { query: Query; exec: Query };
  const instance = connection.pglite as unknown as Connection & {
    transaction(fn: (tx: Connection) => Promise<unknown>): Promise<unknown>;
  };
  const wrap = (target: Connection, inTransaction: boolean) => {
    const { query, exec } = target;
    target.query = (text, ...rest) => {
      record(text, inTransaction);
      return query.call(target, text, ...rest);
    };
    target.exec = (text, ...rest) => {
      record(text, inTransaction);
      return exec.call(target, text, ...rest);
    };
    return () => {
      target.query = query;
      target.exec = exec;
    };
  };
  const unwrap = wrap(instance, false);
  const { transaction } = instance;
  instance.transaction = (fn) =>
    transaction.call(instance, (tx) => {
      result.transactions++;
      wrap(tx, true);
      return fn(tx);
    });
  result.stop = () => {
    unwrap();
    instance.transaction = transaction;
  };
  return result;
}

describe('the database budget of an execution', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it(`runs an execution, JSON or streamed, in at most ${TRANSACTIONS} transactions and ${STATEMENTS} statements`, async () => {
    t = await buildTestApp({ env: { FLEECE_ROUTE_LIMITS: 'agentExecute=100' } });
    const ada = await userOnPlan(t, 'ada@example.test', 'pro');
    const { key } = await createKey(t, ada);
    const agent = await createAgent(t, ada, { name: 'Helper', instructions: 'Be brief.' });
    const execute = (stream: boolean, idempotencyKey: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/agents/${agent.id}/execute`,
        headers: { ...bearer(key), 'idempotency-key': idempotencyKey },
        payload: { input: 'Say hello.', stream },
      });
    // Warm: the key and the plan cached, the key's last use written (at most once a minute).
    expect((await execute(false, 'warm')).statusCode).toBe(201);
    await vi.waitUntil(
      async () =>
        (await t.db.ownerQuery('select 1 from api_keys where last_used_at is not null')).length === 1,
      { timeout: 10_000, interval: 100 },
    );
    // Per execution, averaged over a few: the audit notifications go out batched, after commit.
    const RUNS = 4;
    for (const stream of [false, true]) {
      const counted = tally(t);
      for (let i = 0; i < RUNS; i++) {
        const res = await execute(stream, `${stream ? 'stream' : 'json'}-${i}`);
        expect(res.statusCode, res.body).toBe(stream ? 200 : 201);
        if (stream) expect(res.body).toContain('event: done');
        else expect(res.json().status).toBe('succeeded');
      }
      // The audit notification of the last execution goes out after its start commits, on a timer.
      await vi
        .waitUntil(() => counted.statements.filter(isAuditNotification).length >= RUNS, { timeout: 2_000 })
        .catch(() => {});
      counted.stop();
      const shown = `${stream ? 'streamed' : 'JSON'}, ${RUNS} executions: ${counted.transactions} transactions\n${counted.statements.join('\n')}`;
      const audit = counted.statements.filter(isAuditNotification).length;
      const own = counted.statements.filter((x) => x !== 'BEGIN' && !isAuditNotification(x));
      expect((counted.transactions - audit) / RUNS, shown).toBeLessThanOrEqual(TRANSACTIONS);
      expect(own.length / RUNS, shown).toBeLessThanOrEqual(STATEMENTS);
      expect(audit / RUNS, shown).toBeLessThanOrEqual(AUDIT_NOTIFICATIONS);
    }
  });
});
