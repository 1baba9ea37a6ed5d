import { z } from 'zod';
import { pageOf } from './pagination.js';

/**
 * API keys (`/api/v1/api-keys`): bearer credentials for CI and scripts, `Authorization: Bearer flc_…`.
 *
 * - `POST /api/v1/api-keys` creates one from a {@link CreateApiKeyRequest} and answers a
 *   {@link CreatedApiKey}: the only response that ever carries the plaintext `key`;
 * - `GET /api/v1/api-keys` lists the caller's keys that are not revoked, newest first (an {@link ApiKeyPage});
 * - `DELETE /api/v1/api-keys/:id` revokes one (204, also when it was already revoked; 404 when it is not
 *   the caller's).
 *
 * Keys can only be managed from a session (browser or CLI login): a request authenticated by an API key
 * gets 403 `forbidden` here.
 */

/**
 * What a key may do. `read`: every GET; `write`: every other change; `agents:execute`, `flows:trigger`,
 * `audit:read` and `export`: those operations. A request outside the key's scopes answers 403
 * `insufficient_scope`.
 */
export const API_KEY_SCOPES = [
  'read',
  'write',
  'agents:execute',
  'flows:trigger',
  'audit:read',
  'export',
] as const;

/** One API key scope (see {@link API_KEY_SCOPES}). */
export const ApiKeyScope = z.enum(API_KEY_SCOPES);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

/** Most days `expiresIn` may name. */
export const API_KEY_MAX_EXPIRY_DAYS = 365;

/**
 * The scopes of a new key that names none: `read` only (least privilege). The one default of the API,
 * `fleece keys create` and the settings page: each takes it from here (the page through its test).
 */
export const DEFAULT_API_KEY_SCOPES = ['read'] as const satisfies readonly ApiKeyScope[];

/**
 * Days until a new key expires when it names no expiry: 30 (least privilege: a forgotten key stops
 * working). The one default of the API, `fleece keys create` and the settings page. `expiresIn: null`
 * asks for a key that never expires.
 */
export const DEFAULT_API_KEY_EXPIRY_DAYS = 30;

/**
 * Body of `POST /api/v1/api-keys`.
 *
 * - `name`: 1–100 characters, to tell keys apart;
 * - `scopes`: what the key may do, each at most once; default {@link DEFAULT_API_KEY_SCOPES} (`read`);
 * - `expiresIn`: when the key stops working: a whole number of days (1–365), or an absolute ISO 8601 time
 *   with a UTC offset, which must lie in the future; `null` for never. Omitted,
 *   {@link DEFAULT_API_KEY_EXPIRY_DAYS} (30) days.
 */
export const CreateApiKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z
    .array(ApiKeyScope)
    .min(1)
    .refine((s) => new Set(s).size === s.length, 'each scope at most once')
    .optional()
    .describe(`what the key may do; omitted: ${DEFAULT_API_KEY_SCOPES.join(', ')}`),
  expiresIn: z
    .union([z.number().int().min(1).max(API_KEY_MAX_EXPIRY_DAYS), z.iso.datetime({ offset: true })])
    .nullable()
    .optional()
    .describe(
      `days (1–365) or an absolute ISO 8601 time in the future; null: never; omitted: ${DEFAULT_API_KEY_EXPIRY_DAYS} days`,
    ),
});
export type CreateApiKeyRequest = z.input<typeof CreateApiKeyRequest>;

/**
 * An API key as listed: never its secret.
 *
 * - `start`: the first 8 characters after `flc_`, to recognise the key (`flc_<start>…`);
 * - `status`: `active`; `expired` once `expiresAt` has passed; `disabled` when a plan downgrade left more
 *   keys than the plan allows (the newest are disabled; they answer 403 `api_key_disabled` until a plan
 *   change makes room);
 * - `lastUsedAt` / `lastUsedIp`: the last authenticated use, recorded at most once a minute (so up to about
 *   a minute behind); `null` until the first use.
 */
export const ApiKey = z.object({
  id: z.string().startsWith('key_'),
  name: z.string(),
  start: z.string(),
  scopes: z.array(ApiKeyScope),
  status: z.enum(['active', 'expired', 'disabled']),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  lastUsedIp: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/**
 * Answer of `POST /api/v1/api-keys` (201): the key's record plus `key`, the plaintext (`flc_…`). It is shown
 * this once and cannot be retrieved again; store it in a secret manager.
 */
export const CreatedApiKey = ApiKey.extend({ key: z.string().regex(/^flc_[0-9A-Za-z]{49}$/) });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

/** Answer of `GET /api/v1/api-keys`: one page of keys that are not revoked, newest first. */
export const ApiKeyPage = pageOf(ApiKey);
export type ApiKeyPage = z.infer<typeof ApiKeyPage>;

/** Path parameters of `DELETE /api/v1/api-keys/:id`. */
export const ApiKeyParams = z.strictObject({ id: z.string().min(1).max(64) });
export type ApiKeyParams = z.infer<typeof ApiKeyParams>;
