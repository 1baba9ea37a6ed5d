import {
  ChatEventSchemas,
  type ChatRequest,
  ChatResponse,
  Conversation,
  ConversationDetail,
} from '../contract/chat.js';
import type { PageQuery } from '../contract/pagination.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { decodeEvents, type EventDecoder, type Stream, type TypedEvent } from '../core/streaming.js';
import { mergeHeaderRecord } from '../internal/headers.js';

/** One event of a chat stream: `conversation`, `message.delta`, `message.completed`, `done`. */
export type ChatEvent = TypedEvent<typeof ChatEventSchemas>;

/** The body of {@link Chat.create}, without `stream`. */
export type ChatParams = Omit<ChatRequest, 'stream'>;

/** The path that resumes the streamed reply of conversation `id`. */
const resumePath = (id: string) => `/api/v1/conversations/${encodeURIComponent(id)}/stream`;

/** `POST /api/v1/chat`: start or continue a conversation. Needs an API key or an access token. */
export class Chat extends APIResource {
  /**
   * Sends a message and resolves with the reply ({@link ChatResponse}), or with `stream: true`, a
   * {@link Stream} of {@link ChatEvent}s once the headers arrive. Counts one execution of the month's quota.
   * A streamed reply whose connection drops after its `conversation` event is resumed with `Last-Event-ID`
   * on `GET /api/v1/conversations/:id/stream` ({@link Conversations.stream}), without gaps or duplicates.
   *
   * @throws {PermissionDeniedError} (403 `plan_limit_reached`) when the quota is used up;
   *   {@link RateLimitError} (429) beyond 20 a minute; {@link NotFoundError} for a conversation not yours.
   * @example
   * const { conversationId, message } = await client.chat.create({ message: 'Hello' });
   * await client.chat.create({ conversationId, message: 'And then?' });
   */
  create(body: ChatParams & { stream: true }, options?: RequestOptions): Promise<Stream<ChatEvent>>;
  create(body: ChatParams & { stream?: false }, options?: RequestOptions): APIPromise<ChatResponse>;
  create(
    body: ChatParams & { stream?: boolean },
    options?: RequestOptions,
  ): Promise<ChatResponse | Stream<ChatEvent>> {
    if (body.stream) {
      // The conversation the reply belongs to, once its first event named it: the resume target.
      let conversationId: string | undefined;
      const decode = decodeEvents(ChatEventSchemas);
      const remember: EventDecoder<ChatEvent> = (message, context) => {
        const event = decode(message, context);
        if (event?.event === 'conversation') conversationId = event.data.conversationId;
        return event;
      };
      return this._client.stream<ChatEvent>({
        ...options,
        method: 'post',
        path: '/api/v1/chat',
        body,
        decode: remember,
        // Before the first event, nothing says which conversation to resume: the request is sent again.
        resume: () =>
          conversationId === undefined
            ? { method: 'post', path: '/api/v1/chat', body }
            : { method: 'get', path: resumePath(conversationId) },
      });
    }
    return this._client.post<ChatResponse>('/api/v1/chat', { ...options, body, schema: ChatResponse });
  }
}

/** `/api/v1/conversations`: your chat conversations. */
export class Conversations extends APIResource {
  /**
   * Lists your conversations, most recently active first: awaitable and async iterable.
   * @example
   * for await (const c of client.conversations.list()) console.log(c.id, c.updatedAt);
   */
  list(query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<Conversation> {
    return this._client.getAPIList('/api/v1/conversations', Conversation, { ...options, query });
  }

  /**
   * Fetches a conversation with its messages. @throws {NotFoundError} when it is not yours.
   * @example
   * const { messages } = await client.conversations.get('cnv_…');
   */
  get(id: string, options?: RequestOptions): APIPromise<ConversationDetail> {
    return this._client.get(`/api/v1/conversations/${encodeURIComponent(id)}`, {
      ...options,
      schema: ConversationDetail,
    });
  }

  /**
   * Resumes the streamed reply of a conversation ({@link Chat.create} with `stream: true`) after
   * `lastEventId` (from its first event without it), then follows it live until `done`; a drop resumes
   * with `Last-Event-ID`. The server keeps a reply's events while it runs and for 60 s after `done`; a
   * reply whose stream dropped waits 10 s for this resume before it is cancelled.
   *
   * @throws {NotFoundError} when no streamed reply of the conversation is kept, or it is not yours.
   * @example
   * const stream = await client.conversations.stream('cnv_…', { lastEventId: '3' });
   * for await (const event of stream) if (event.event === 'message.delta') process.stdout.write(event.data.text);
   */
  stream(
    id: string,
    params: { lastEventId?: string | undefined } = {},
    options?: RequestOptions,
  ): Promise<Stream<ChatEvent>> {
    const path = resumePath(id);
    return this._client.stream<ChatEvent>({
      ...options,
      method: 'get',
      path,
      headers: mergeHeaderRecord(
        options?.headers,
        params.lastEventId === undefined ? {} : { 'last-event-id': params.lastEventId },
      ),
      decode: decodeEvents(ChatEventSchemas),
    });
  }

  /**
   * Deletes a conversation and its messages. @throws {NotFoundError} when it is not yours.
   * @example
   * await client.conversations.delete('cnv_…');
   */
  delete(id: string, options?: RequestOptions): APIPromise<unknown> {
    return this._client.delete(`/api/v1/conversations/${encodeURIComponent(id)}`, options);
  }
}
