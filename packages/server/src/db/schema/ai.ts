import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { bytea } from '../columns.js';
import { flows } from './flows.js';
import { users } from './identity.js';

/**
 * Agents (`agt_…`): a named system prompt (`instructions`) with a model and its sampling settings, owned by
 * one user. `model` null means the deployment's default model at execution time.
 */
export const agents = pgTable(
  'agents',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text().notNull().default(''),
    instructions: text().notNull().default(''),
    model: text(),
    temperature: real(),
    maxOutputTokens: integer(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('agents_user_id_idx').on(t.userId, t.createdAt, t.id)],
);

/**
 * Executions (`exe_…`): one run of an agent, or of a flow. A flow run has `flowId` set, no `parentId`, and
 * no model or provider; each step it runs is a child execution of an agent with `parentId` (the run),
 * `flowId` and `step` (the step's name) set. A failed run names the step that failed in `failedStep`.
 * `status` goes `queued` → `running` →
 * `succeeded` | `failed` | `cancelled`. Input and output are AES-256-GCM envelopes (src/lib/crypto.ts)
 * bound to `execution:<id>:input` / `execution:<id>:output`; `keyId` names the key that sealed them
 * (`fleece-server keys rotate` re-seals rows whose key is not the current one). `idempotencyKey` is the
 * client's `Idempotency-Key`, unique per user: a retry with the same key finds this row instead of running
 * (and charging) again.
 */
export const executions = pgTable(
  'executions',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    agentId: text().references(() => agents.id, { onDelete: 'set null' }),
    flowId: text().references(() => flows.id, { onDelete: 'set null' }),
    parentId: text().references((): AnyPgColumn => executions.id, { onDelete: 'cascade' }),
    step: text(),
    failedStep: text(),
    status: text({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }).notNull(),
    model: text(),
    provider: text(),
    keyId: text().notNull(),
    input: bytea().notNull(),
    output: bytea(),
    inputTokens: integer(),
    outputTokens: integer(),
    finishReason: text(),
    errorCode: text(),
    idempotencyKey: text(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    startedAt: timestamp({ withTimezone: true, mode: 'date' }),
    finishedAt: timestamp({ withTimezone: true, mode: 'date' }),
    durationMs: integer(),
    /** Until when the instance running it holds it; a sweep fails it as `instance_lost` after that. */
    leaseExpiresAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('executions_user_id_idx').on(t.userId, t.createdAt, t.id),
    index('executions_unfinished_idx')
      .on(t.status, t.leaseExpiresAt)
      .where(sql`${t.status} in ('queued', 'running')`),
    index('executions_agent_id_idx').on(t.agentId),
    index('executions_flow_id_idx').on(t.flowId, t.createdAt),
    index('executions_parent_id_idx').on(t.parentId),
    uniqueIndex('executions_flow_active_run')
      .on(t.flowId)
      .where(sql`${t.parentId} is null and ${t.flowId} is not null and ${t.status} in ('queued', 'running')`),
    uniqueIndex('executions_idempotency_key').on(t.userId, t.idempotencyKey),
    check(
      'executions_status_check',
      sql`${t.status} in ('queued', 'running', 'succeeded', 'failed', 'cancelled')`,
    ),
  ],
);

/**
 * The Server-Sent Events of an execution, stored so a stream can be replayed and resumed
 * (`GET /api/v1/executions/:id/events`, `Last-Event-ID`). `seq` (1, 2, …) is the event's SSE `id`. `data`
 * is the event's JSON sealed as an envelope bound to `execution_event:<executionId>:<seq>` (deltas are
 * output, so they are encrypted like it).
 */
export const executionEvents = pgTable(
  'execution_events',
  {
    executionId: text()
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    seq: integer().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text().notNull(),
    keyId: text().notNull(),
    data: bytea().notNull(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.executionId, t.seq] })],
);

/**
 * Chat conversations (`cnv_…`), one user each. `model` is the model of the last reply. The messages are in
 * {@link chatMessages}.
 */
export const conversations = pgTable(
  'conversations',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    model: text().notNull(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('conversations_user_id_idx').on(t.userId, t.updatedAt),
    index('conversations_user_created_idx').on(t.userId, t.createdAt, t.id),
  ],
);

/**
 * The messages of a conversation, in order (`seq` 1, 2, …). `content` is an AES-256-GCM envelope bound to
 * `chat_message:<conversationId>:<seq>`; `keyId` names its key. Assistant messages record the model and
 * token usage of the reply.
 */
export const chatMessages = pgTable(
  'chat_messages',
  {
    conversationId: text()
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: integer().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text({ enum: ['system', 'user', 'assistant'] }).notNull(),
    keyId: text().notNull(),
    content: bytea().notNull(),
    model: text(),
    inputTokens: integer(),
    outputTokens: integer(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.seq] }),
    check('chat_messages_role_check', sql`${t.role} in ('system', 'user', 'assistant')`),
  ],
);
