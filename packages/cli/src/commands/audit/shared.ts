import { type AuditEvent, describeAuditActor } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import { messages } from '../../messages.js';

const AGE_UNITS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A `--since`/`--until` value as the API takes it (ISO 8601 with an offset): a time with an offset, as is;
 * a date (`2026-06-30`) as midnight UTC; an age (`30m`, `12h`, `7d`, `2w`) as that long before `now`
 * (milliseconds since the epoch). `undefined` when the flag is absent.
 * @throws {ValidationError} (exit 2) naming the flag for anything else.
 */
export function parseTime(flag: string, value: string | undefined, now: number): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const age = /^(\d{1,6})\s*([smhdw])$/i.exec(text);
  if (age) return new Date(now - Number(age[1]) * (AGE_UNITS[age[2]!.toLowerCase()] as number)).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    return `${text}T00:00:00Z`;
  }
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/i.test(text) && !Number.isNaN(Date.parse(text))) {
    return text;
  }
  throw new ValidationError(messages.badTime(flag, value), { hint: messages.badTimeHint });
}

/**
 * `--action` as the API takes it: an action or prefix of lower-case letters, dots and underscores.
 * @throws {ValidationError} (exit 2) otherwise.
 */
export function parseAction(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-z_.]{1,64}$/.test(value)) {
    throw new ValidationError(messages.badAction(value), { hint: messages.badActionHint });
  }
  return value;
}

/**
 * A whole number from `min` to `max` given for `flag`, else a {@link ValidationError} (exit 2) with
 * `hint`.
 */
export function parseCount(
  value: string | undefined,
  range: { min: number; max: number; fallback: number },
  error: () => ValidationError,
): number {
  if (value === undefined) return range.fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < range.min || n > range.max) throw error();
  return n;
}

/**
 * One audit event as one tab-separated line: time (UTC, to the second), id, action, outcome, resource
 * (`type:id`), actor in the words the settings page uses too ({@link describeAuditActor}: `you`,
 * `API key key_…`, `admin sub_…`, `user sub_…`, `anonymous`, `system`), IP address (`-` when unknown).
 */
export function formatEvent(event: AuditEvent): string {
  const time = `${event.occurredAt.slice(0, 19).replace('T', ' ')}Z`;
  const resource = event.resourceId ? `${event.resourceType}:${event.resourceId}` : event.resourceType;
  return [
    time,
    event.id,
    event.action,
    event.outcome,
    resource,
    describeAuditActor(event),
    event.ip ?? '-',
  ].join('\t');
}
