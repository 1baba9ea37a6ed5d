import type { AuditEvent } from '../contract/audit.js';

/**
 * The words for who performed an audited action, shared by every Fleece client so that `fleece audit list`
 * and the settings page's audit log say the same thing (the page mirrors this table in
 * `packages/server/web/js/actors.js`, and a test checks the two are equal):
 *
 * - `self`: the person whose log holds the event (also when they acted as an administrator);
 * - `api_key`: an API key, followed by its id (`API key key_…`);
 * - `admin` / `user`: another administrator or person, followed by their pseudonymous subject (`sub_…`);
 * - `anonymous`: a caller that was not signed in (a failed sign-in, for example);
 * - `system`: Fleece itself (purges, retention, webhooks).
 */
export const AUDIT_ACTOR_WORDS = Object.freeze({
  self: 'you',
  api_key: 'API key',
  admin: 'admin',
  user: 'user',
  anonymous: 'anonymous',
  system: 'system',
} as const);

/**
 * Who performed `event`, in the words of {@link AUDIT_ACTOR_WORDS}: `you`, `API key key_…`,
 * `admin sub_…`, `user sub_…`, `anonymous` or `system`. An actor whose subject is the event's `chain` is
 * `you`, unless it used an API key (then the key is named); an actor without a subject is `anonymous`.
 * Never throws; an actor type this version does not know is shown as it is.
 */
export function describeAuditActor(event: Pick<AuditEvent, 'chain' | 'actor'>): string {
  const { type, subject, apiKeyId } = event.actor;
  const words = AUDIT_ACTOR_WORDS;
  if (apiKeyId) return `${words.api_key} ${apiKeyId}`;
  if (type === 'system') return words.system;
  if (subject === null) return words.anonymous;
  if (subject === event.chain) return words.self;
  return `${(words as Record<string, string>)[type] ?? type} ${subject}`;
}
