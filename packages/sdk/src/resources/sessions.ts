import type { PageQuery } from '../contract/pagination.js';
import { RevokeSessionsResponse, Session } from '../contract/sessions.js';
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';

/**
 * `/api/v1/sessions`: where you are signed in: browser sessions and CLI grants (`fleece login`). Each
 * revocation takes effect at once on every server instance and is recorded in your audit log
 * (`session.revoked`).
 */
export class Sessions extends APIResource {
  /**
   * Lists your active sessions, newest first, with `current: true` on the one making the call (none when
   * called with an API key): awaitable (first page) and async iterable (every session).
   *
   * @example
   * for await (const s of client.sessions.list()) console.log(s.id, s.kind, s.userAgent, s.current);
   */
  list(query: Partial<PageQuery> = {}, options?: RequestOptions): PagePromise<Session> {
    return this._client.getAPIList('/api/v1/sessions', Session, { ...options, query });
  }

  /**
   * Revokes one session (signs that browser or CLI out). Revoking the current session signs this client
   * out too.
   *
   * @throws {NotFoundError} (404) when no active session of yours has this id.
   * @example
   * await client.sessions.revoke('ses_…');
   */
  revoke(id: string, options?: RequestOptions): APIPromise<unknown> {
    return this._client.delete(`/api/v1/sessions/${encodeURIComponent(id)}`, options);
  }

  /**
   * Revokes every session but the current one ("sign out everywhere else") and resolves with how many
   * were revoked. With an API key there is no current session, so every session is revoked.
   *
   * @example
   * const { revoked } = await client.sessions.revokeOthers();
   */
  revokeOthers(options?: RequestOptions): APIPromise<RevokeSessionsResponse> {
    return this._client.delete('/api/v1/sessions', { ...options, schema: RevokeSessionsResponse });
  }
}
