import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from '../columns.js';
import { users } from './identity.js';

/** One step of a flow as stored: its name, the agent it runs, and its input template. */
export interface StoredFlowStep {
  name: string;
  agentId: string;
  input: string;
}

/**
 * Flows (`flw_…`): an ordered list of steps (`steps`, JSON), each an agent with an input template that may
 * use `{{input}}` and `{{steps.<name>.output}}` of earlier steps. `schedule` is a 5-field cron expression
 * (UTC) whose runs get `scheduleInput`; the schedule itself lives in pg-boss (`pgboss.schedule`, keyed by
 * the flow id). `callbackUrl` receives a signed webhook when a run ends; `callbackSecret` is its signing
 * secret, an AES-256-GCM envelope (src/lib/crypto.ts) bound to `flow:<id>:callback_secret` under key
 * `callbackKeyId`. Runs are executions with `flowId` set (see ./ai.ts).
 */
export const flows = pgTable(
  'flows',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text().notNull().default(''),
    steps: jsonb().$type<StoredFlowStep[]>().notNull(),
    schedule: text(),
    scheduleInput: text().notNull().default(''),
    callbackUrl: text(),
    callbackSecret: bytea(),
    callbackKeyId: text(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('flows_user_id_idx').on(t.userId, t.createdAt, t.id)],
);
