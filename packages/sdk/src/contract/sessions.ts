import { z } from 'zod';
import { pageOf } from './pagination.js';

/**
 * One of the caller's sessions (`GET /api/v1/sessions`): a browser sign-in or a CLI grant.
 *
 * - `kind`: `browser` (session cookie) or `cli` (access + refresh token);
 * - `method`: how it signed in: `google`, `github`, `entra`, `magic_link`, `device` or `cli`;
 * - `clientId`: the OAuth client of a CLI session, `null` for a browser;
 * - `userAgent`, `ip`: the device that signed in, as first seen;
 * - `lastUsedAt`: last recorded activity (recorded when the session's token is renewed: about every 15
 *   minutes of use for a browser, every refresh for the CLI); `expiresAt`: the absolute end;
 * - `current`: `true` for the session making this request.
 */
export const Session = z.object({
  id: z.string().startsWith('ses_'),
  kind: z.enum(['browser', 'cli']),
  method: z.string(),
  clientId: z.string().nullable(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  current: z.boolean(),
});
export type Session = z.infer<typeof Session>;

/** Answer of `GET /api/v1/sessions`: one page of active sessions, newest first. */
export const SessionList = pageOf(Session);
export type SessionList = z.infer<typeof SessionList>;

/** Path parameters of `DELETE /api/v1/sessions/:id`. */
export const SessionParams = z.strictObject({ id: z.string().min(1).max(64) });
export type SessionParams = z.infer<typeof SessionParams>;

/** Answer of `DELETE /api/v1/sessions` (every session but the current one): how many were revoked. */
export const RevokeSessionsResponse = z.object({ revoked: z.number().int().nonnegative() });
export type RevokeSessionsResponse = z.infer<typeof RevokeSessionsResponse>;
