import { describe, expect, it } from 'vitest';
import { AUDIT_ACTOR_WORDS, describeAuditActor } from '../../src/index.js';

const ME = `sub_${'a'.repeat(32)}`;
const OTHER = `sub_${'b'.repeat(32)}`;
type Actor = Parameters<typeof describeAuditActor>[0]['actor'];
const event = (actor: Actor, chain: string = ME) =>
  ({ chain, actor }) as Parameters<typeof describeAuditActor>[0];

describe('describeAuditActor (the words the CLI and the settings page share)', () => {
  it.each([
    ['you, signed in', { type: 'user', subject: ME, apiKeyId: null }, 'you'],
    ['you, as an administrator in your own log', { type: 'admin', subject: ME, apiKeyId: null }, 'you'],
    ['one of your API keys', { type: 'api_key', subject: ME, apiKeyId: 'key_1' }, 'API key key_1'],
    ['another administrator', { type: 'admin', subject: OTHER, apiKeyId: null }, `admin ${OTHER}`],
    ['another person', { type: 'user', subject: OTHER, apiKeyId: null }, `user ${OTHER}`],
    ['a caller not signed in', { type: 'user', subject: null, apiKeyId: null }, 'anonymous'],
    ['Fleece itself', { type: 'system', subject: null, apiKeyId: null }, 'system'],
  ] as [string, Actor, string][])('%s: %s', (_what, actor, words) => {
    expect(describeAuditActor(event(actor))).toBe(words);
  });

  it('names the system chain’s actors by type and subject', () => {
    expect(describeAuditActor(event({ type: 'admin', subject: ME, apiKeyId: null }, 'system'))).toBe(
      `admin ${ME}`,
    );
  });

  it('shows an actor type it does not know as it is, and the table is frozen', () => {
    const future = { type: 'robot', subject: OTHER, apiKeyId: null } as unknown as Actor;
    expect(describeAuditActor(event(future))).toBe(`robot ${OTHER}`);
    expect(Object.isFrozen(AUDIT_ACTOR_WORDS)).toBe(true);
  });
});
