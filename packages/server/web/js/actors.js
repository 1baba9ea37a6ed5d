// Who performed an audited action, in the words `fleece audit list` uses too. The page cannot load the SDK
// bundle, so this mirrors `AUDIT_ACTOR_WORDS` and `describeAuditActor` of @fleece/sdk
// (packages/sdk/src/lib/audit-actor.ts); test/web/actor-wording.test.ts checks that both agree.

/** The words for each kind of actor (the SDK's `AUDIT_ACTOR_WORDS`). */
export const ACTOR_WORDS = Object.freeze({
  self: 'you',
  api_key: 'API key',
  admin: 'admin',
  user: 'user',
  anonymous: 'anonymous',
  system: 'system',
});

/**
 * Who performed audit event `event` (`{ chain, actor: { type, subject, apiKeyId } }`): `you`,
 * `API key key_…`, `admin sub_…`, `user sub_…`, `anonymous` or `system` (the SDK's `describeAuditActor`).
 */
export function describeActor(event) {
  const { type, subject, apiKeyId } = event.actor;
  if (apiKeyId) return `${ACTOR_WORDS.api_key} ${apiKeyId}`;
  if (type === 'system') return ACTOR_WORDS.system;
  if (subject === null) return ACTOR_WORDS.anonymous;
  if (subject === event.chain) return ACTOR_WORDS.self;
  return `${ACTOR_WORDS[type] ?? type} ${subject}`;
}
