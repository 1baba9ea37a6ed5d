import { z } from 'zod';
import { Agent } from './agents.js';
import { AuditEvent } from './audit.js';
import { ConversationDetail } from './chat.js';
import { Consent } from './consents.js';
import { Execution } from './executions.js';
import { Flow } from './flows.js';
import { PlanId, User } from './identity.js';
import { Session } from './sessions.js';

/**
 * Data export (`GET /api/v1/export`, issue 7; docs/api.md "Data export"): everything the caller owns, as
 * NDJSON (`application/x-ndjson`, one JSON object per line, each line ending in LF), or the same file inside a
 * zip archive with `?format=zip`. Needs the `export` API key scope; 5 per hour per user.
 *
 * Lines, in this order:
 *
 * 1. one {@link ExportHeader} (`type: "header"`): the format version and when the export started;
 * 2. data records {@link ExportDataRecord}, `{"type": <record type>, "data": {…}}`, grouped by type in
 *    {@link EXPORT_RECORD_TYPES} order (within a type, oldest first);
 * 3. one {@link ExportTrailer} (`type: "trailer"`): per-type counts, and the SHA-256 of the body.
 *
 * The body whose checksum the trailer gives is every byte before the trailer line: the header line and every
 * data record line, each with its terminating LF, exactly as sent (UTF-8). An export without a trailer, or
 * whose body does not hash to the trailer's `sha256`, is incomplete or corrupt.
 */

/** The version of the export format described here; raised on any incompatible change. */
export const EXPORT_FORMAT_VERSION = 1;

/** The data record types, in the order an export lists them. */
export const EXPORT_RECORD_TYPES = [
  'profile',
  'identity',
  'api_key',
  'session',
  'agent',
  'flow',
  'execution',
  'conversation',
  'consent',
  'audit_event',
] as const;

/** One data record type (see {@link EXPORT_RECORD_TYPES}). */
export const ExportRecordType = z.enum(EXPORT_RECORD_TYPES);
export type ExportRecordType = z.infer<typeof ExportRecordType>;

/** The archive formats of `GET /api/v1/export?format=…`: `ndjson` (default) or `zip`. */
export const EXPORT_FORMATS = ['ndjson', 'zip'] as const;
export const ExportFormat = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormat>;

/** Query of `GET /api/v1/export`. */
export const ExportQuery = z.strictObject({ format: ExportFormat.default('ndjson') });
export type ExportQuery = z.input<typeof ExportQuery>;

/** The name of the NDJSON file inside the zip archive of `?format=zip`. */
export const EXPORT_ZIP_ENTRY = 'fleece-export.ndjson';

/** The first line: format version, export time (ISO 8601 UTC) and whose data it is. */
export const ExportHeader = z.object({
  type: z.literal('header'),
  formatVersion: z.literal(EXPORT_FORMAT_VERSION),
  exportedAt: z.iso.datetime(),
  userId: z.string().startsWith('usr_'),
});
export type ExportHeader = z.infer<typeof ExportHeader>;

/**
 * The last line.
 *
 * - `counts`: data records per type (every type present, zeros included);
 * - `records`: data records in all (header and trailer not counted);
 * - `bytes`: length of the body in bytes (every byte before the trailer line);
 * - `sha256`: SHA-256 of that body, lower-case hex (64 characters).
 */
export const ExportTrailer = z.object({
  type: z.literal('trailer'),
  counts: z.record(ExportRecordType, z.number().int().nonnegative()),
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ExportTrailer = z.infer<typeof ExportTrailer>;

/** `profile`: the account, with its plan. */
export const ExportProfile = User.extend({ plan: PlanId });

/** `identity`: a linked sign-in provider account (no provider tokens are kept, so none are exported). */
export const ExportIdentity = z.object({
  id: z.string(),
  provider: z.string(),
  subject: z.string(),
  email: z.string().nullable(),
  emailVerified: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** `api_key`: key metadata; never the key or its hash (`start` is the first 8 characters after `flc_`). */
export const ExportApiKey = z.object({
  id: z.string(),
  name: z.string(),
  start: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  lastUsedIp: z.string().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});

/** `session`: a browser or CLI session, live or ended, with when and why it ended; never a token or hash. */
export const ExportSession = Session.omit({ current: true }).extend({
  revokedAt: z.iso.datetime().nullable(),
  revokedReason: z.string().nullable(),
});

/** A data record: `{"type": …, "data": …}`, with the shape of `data` fixed by `type`. */
export const ExportDataRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('profile'), data: ExportProfile }),
  z.object({ type: z.literal('identity'), data: ExportIdentity }),
  z.object({ type: z.literal('api_key'), data: ExportApiKey }),
  z.object({ type: z.literal('session'), data: ExportSession }),
  z.object({ type: z.literal('agent'), data: Agent }),
  z.object({ type: z.literal('flow'), data: Flow }),
  z.object({ type: z.literal('execution'), data: Execution }),
  z.object({ type: z.literal('conversation'), data: ConversationDetail }),
  z.object({ type: z.literal('consent'), data: Consent }),
  z.object({ type: z.literal('audit_event'), data: AuditEvent }),
]);
export type ExportDataRecord = z.infer<typeof ExportDataRecord>;

/** Any line of an export. */
export const ExportLine = z.union([ExportHeader, ExportDataRecord, ExportTrailer]);
export type ExportLine = z.infer<typeof ExportLine>;
