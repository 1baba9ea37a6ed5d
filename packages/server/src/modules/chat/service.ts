import type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ConversationDetail,
  ConversationPage,
} from '@fleece/sdk/contract';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { decodeCursor, encodeCursor, newestFirst, olderThan, pageOf } from '../../db/pagination.js';
import { chatMessages, conversations } from '../../db/schema/ai.js';
import { withUser } from '../../db/tenant.js';
import { ProblemError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/secrets.js';
import type { ModelService } from '../ai/models/service.js';
import { ProviderError } from '../ai/providers/errors.js';
import type { ProviderRegistry } from '../ai/providers/registry.js';
import type { ProviderId, ChatMessage as ProviderMessage } from '../ai/providers/types.js';
import type { AuditContext, AuditService } from '../audit/service.js';
import type { EntitlementsService } from '../plans/entitlements.js';

type MessageRow = typeof chatMessages.$inferSelect;

/** The additional authenticated data binding a chat message's envelope to its conversation and position. */
export function messageAad(conversationId: string, seq: number): string {
  return `chat_message:${conversationId}:${seq}`;
}

/** A chat turn ready to run: its conversation, model and the whole history to send. */
export interface PreparedTurn {
  conversationId: string;
  model: { id: string; provider: ProviderId };
  history: ProviderMessage[];
  /** Whether {@link ChatService.prepare} created the conversation. */
  created: boolean;
}

/** What a {@link ChatService} needs. */
export interface ChatServiceOptions {
  db: Db;
  clock: Clock;
  /** Seals the messages (`FLEECE_ENCRYPTION_KEY`). */
  keyring: Keyring;
  audit: AuditService;
  entitlements: EntitlementsService;
  models: ModelService;
  providers: ProviderRegistry;
}

/**
 * Chat: a turn appends the request's messages to a conversation (created when none is named), counts one
 * execution of the month's quota in the same transaction, then streams the reply from the provider and
 * stores it. Messages are AES-256-GCM envelopes (AAD `chat_message:<conversationId>:<seq>`). Another
 * user's conversation is indistinguishable from a missing one.
 */
export class ChatService {
  constructor(private readonly deps: ChatServiceOptions) {}

  /** The wire form of a stored message (content decrypted); the data export uses it too. */
  present(row: MessageRow): ChatMessage {
    return {
      seq: row.seq,
      role: row.role,
      content: decrypt(this.deps.keyring, row.content, messageAad(row.conversationId, row.seq)).toString(
        'utf8',
      ),
      model: row.model,
      createdAt: row.createdAt.toISOString(),
    };
  }

  private async insertMessage(
    tx: Db,
    userId: string,
    conversationId: string,
    seq: number,
    message: { role: 'system' | 'user' | 'assistant'; content: string },
    extra: { model?: string; inputTokens?: number; outputTokens?: number } = {},
  ): Promise<MessageRow> {
    const key = this.deps.keyring.current;
    const [row] = await tx
      .insert(chatMessages)
      .values({
        conversationId,
        seq,
        userId,
        role: message.role,
        keyId: key.id,
        content: encrypt(key, message.content, messageAad(conversationId, seq)),
        model: extra.model ?? null,
        inputTokens: extra.inputTokens ?? null,
        outputTokens: extra.outputTokens ?? null,
        createdAt: this.deps.clock.now(),
      })
      .returning();
    return row!;
  }

  /**
   * Appends the request's messages (creating the conversation when none is named), checks the model and
   * counts one execution against the quota, in one transaction.
   * @throws {ProblemError} 404 `not_found`, 403 `plan_limit_reached`, 400 `unknown_model`.
   */
  async prepare(userId: string, request: ChatRequest): Promise<PreparedTurn> {
    return withUser(this.deps.db, userId, async (tx) => {
      const now = this.deps.clock.now();
      let conversationId = request.conversationId;
      let current: string | undefined;
      if (conversationId !== undefined) {
        const [row] = await tx
          .select({ model: conversations.model })
          .from(conversations)
          .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)))
          .for('update');
        if (!row) throw new ProblemError('not_found', 'No such conversation.');
        current = row.model;
      }
      const model = this.deps.models.assertModelAllowed(
        await this.deps.entitlements.limits(tx, userId),
        request.model ?? current,
      );
      await this.deps.entitlements.consumeExecution(tx, userId);
      let created = false;
      if (conversationId === undefined) {
        conversationId = newId('cnv');
        created = true;
        await tx
          .insert(conversations)
          .values({ id: conversationId, userId, model: model.id, createdAt: now, updatedAt: now });
      } else {
        await tx
          .update(conversations)
          .set({ model: model.id, updatedAt: now })
          .where(eq(conversations.id, conversationId));
      }
      const existing = await tx
        .select()
        .from(chatMessages)
        .where(eq(chatMessages.conversationId, conversationId))
        .orderBy(asc(chatMessages.seq));
      const history: ProviderMessage[] = existing.map((r) => {
        const m = this.present(r);
        return { role: m.role, content: m.content };
      });
      const added = request.messages ?? [{ role: 'user' as const, content: request.message! }];
      let seq = existing.length;
      for (const message of added) {
        await this.insertMessage(tx, userId, conversationId, ++seq, message);
        history.push(message);
      }
      return { conversationId, model: { id: model.id, provider: model.provider }, history, created };
    });
  }

  /**
   * Streams the reply of a prepared turn, calling `onDelta` for each delta, and stores it.
   * @throws {ProviderError} when the provider call fails or `signal` aborts it (nothing is stored then).
   */
  async reply(
    userId: string,
    turn: PreparedTurn,
    onDelta: (text: string) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<ChatResponse> {
    const provider = this.deps.providers.get(turn.model.provider);
    if (!provider) throw new ProviderError('provider_unavailable', turn.model.provider);
    const stream = provider.stream(turn.history, { model: turn.model.id, signal });
    for await (const text of stream) await onDelta(text);
    const result = await stream.result();
    const row = await withUser(this.deps.db, userId, async (tx) => {
      const [{ next } = { next: 1 }] = (await tx
        .select({ next: sql<number>`coalesce(max(${chatMessages.seq}), 0) + 1` })
        .from(chatMessages)
        .where(eq(chatMessages.conversationId, turn.conversationId))) as { next: number }[];
      return this.insertMessage(
        tx,
        userId,
        turn.conversationId,
        Number(next),
        { role: 'assistant', content: result.text },
        {
          model: turn.model.id,
          inputTokens: result.usage.inputTokens,
          outputTokens: result.usage.outputTokens,
        },
      );
    });
    return {
      conversationId: turn.conversationId,
      message: this.present(row),
      usage: result.usage,
      finishReason: result.finishReason,
    };
  }

  /** One page of `userId`'s conversations, most recently active first. */
  async list(userId: string, limit: number, cursor: string | undefined): Promise<ConversationPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'cnv');
    const rows = await withUser(this.deps.db, userId, (tx) =>
      tx
        .select()
        .from(conversations)
        .where(
          and(eq(conversations.userId, userId), olderThan(conversations.updatedAt, conversations.id, after)),
        )
        .orderBy(...newestFirst(conversations.updatedAt, conversations.id))
        .limit(limit + 1),
    );
    const { page, nextCursor } = pageOf(rows, limit, (last) =>
      encodeCursor({ createdAt: last.updatedAt, id: last.id }),
    );
    return {
      data: page.map((r) => ({
        id: r.id,
        model: r.model,
        createdAt: r.createdAt.toISOString(),
        updatedAt: r.updatedAt.toISOString(),
      })),
      nextCursor,
    };
  }

  /** Conversation `id` of `userId` with its messages; `undefined` when `userId` has none. */
  async get(userId: string, id: string): Promise<ConversationDetail | undefined> {
    return withUser(this.deps.db, userId, async (tx) => {
      const [row] = await tx
        .select()
        .from(conversations)
        .where(and(eq(conversations.id, id), eq(conversations.userId, userId)));
      if (!row) return undefined;
      const messages = await tx
        .select()
        .from(chatMessages)
        .where(eq(chatMessages.conversationId, id))
        .orderBy(asc(chatMessages.seq));
      return {
        id: row.id,
        model: row.model,
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
        messages: messages.map((m) => this.present(m)),
      };
    });
  }

  /** Deletes conversation `id` of `userId` and records `chat.conversation.deleted`. @returns `false` if none. */
  async delete(ctx: AuditContext, userId: string, id: string): Promise<boolean> {
    return withUser(this.deps.db, userId, async (tx) => {
      const deleted = await tx
        .delete(conversations)
        .where(and(eq(conversations.id, id), eq(conversations.userId, userId)))
        .returning({ id: conversations.id });
      if (deleted.length === 0) return false;
      await this.deps.audit.record(tx, ctx, {
        action: 'chat.conversation.deleted',
        resourceType: 'conversation',
        resourceId: id,
        outcome: 'success',
        subjectUserId: userId,
      });
      return true;
    });
  }
}
