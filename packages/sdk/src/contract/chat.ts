import { z } from 'zod';
import { PageQuery, pageOf } from './pagination.js';

/**
 * Chat (`POST /api/v1/chat`) and conversations (`/api/v1/conversations`).
 *
 * `POST /api/v1/chat` with a {@link ChatRequest} starts a conversation (no `conversationId`) or continues
 * one, and answers the reply: JSON ({@link ChatResponse}) or, with `Accept: text/event-stream` or
 * `stream: true`, Server-Sent Events ({@link ChatEventSchemas}: `conversation`, `message.delta` (several),
 * `message.completed` or `error`, then `done`, each with an `id:`). Each call counts one execution against the month's
 * quota; 20 a minute per user. `GET /api/v1/conversations/:id/stream` with `Last-Event-ID` resumes the
 * latest streamed reply of a conversation (the events after that id, then live until `done`); a reply
 * whose last stream closed before `done` is cancelled unless a resume comes within 10 s (nothing is
 * stored for a cancelled reply). Messages are stored encrypted.
 */

/** One message of a chat request. */
export const ChatMessageInput = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1).max(100_000),
});
export type ChatMessageInput = z.infer<typeof ChatMessageInput>;

/**
 * Body of `POST /api/v1/chat`: exactly one of `message` (one user message) or `messages` (messages to
 * append, the last one from the user; at most 100); `model` (default: the conversation's, else the
 * deployment's default); `conversationId` to continue one.
 */
export const ChatRequest = z
  .strictObject({
    conversationId: z.string().min(1).max(100).optional(),
    model: z.string().min(1).max(200).optional(),
    message: z.string().min(1).max(100_000).optional(),
    messages: z.array(ChatMessageInput).min(1).max(100).optional(),
    stream: z.boolean().optional(),
  })
  .refine((v) => (v.message === undefined) !== (v.messages === undefined), {
    message: 'give exactly one of message and messages',
    path: ['message'],
  })
  .refine((v) => v.messages === undefined || v.messages[v.messages.length - 1]?.role === 'user', {
    message: 'the last message must be from the user',
    path: ['messages'],
  });
export type ChatRequest = z.infer<typeof ChatRequest>;

/** One stored message of a conversation. */
export const ChatMessage = z.object({
  seq: z.number().int().positive(),
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
  model: z.string().nullable(),
  createdAt: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Answer of a non-streaming `POST /api/v1/chat`. */
export const ChatResponse = z.object({
  conversationId: z.string(),
  message: ChatMessage,
  usage: z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
  finishReason: z.string(),
});
export type ChatResponse = z.infer<typeof ChatResponse>;

/** `data` of each chat stream event type. */
export const ChatEventSchemas = {
  conversation: z.object({ conversationId: z.string() }),
  'message.delta': z.object({ text: z.string() }),
  'message.completed': ChatResponse,
  /** The reply failed (a safe provider code such as `provider_unavailable`); nothing is stored for it. */
  error: z.object({ code: z.string() }),
  done: z.object({}),
} as const;

/** A conversation as listed. */
export const Conversation = z.object({
  id: z.string(),
  model: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Conversation = z.infer<typeof Conversation>;

/** A conversation with its messages, in order. */
export const ConversationDetail = Conversation.extend({ messages: z.array(ChatMessage) });
export type ConversationDetail = z.infer<typeof ConversationDetail>;

/** One page of conversations, most recently active first. */
export const ConversationPage = pageOf(Conversation);
export type ConversationPage = z.infer<typeof ConversationPage>;

/** Path parameters of `/api/v1/conversations/:id`. */
export const ConversationParams = z.strictObject({ id: z.string().min(1).max(100) });

/** Query of `GET /api/v1/conversations`. */
export const ConversationListQuery = PageQuery;
