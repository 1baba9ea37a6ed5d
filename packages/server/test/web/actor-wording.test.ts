import { AUDIT_ACTOR_WORDS, type AuditEvent, describeAuditActor } from '@fleece/sdk';
import { describe, expect, it } from 'vitest';

/** The page's mirror (plain JavaScript served to the browser; loaded untyped). */
const page = (await import(new URL('../../web/js/actors.js', import.meta.url).href)) as {
  ACTOR_WORDS: Record<string, string>;
  describeActor(event: Pick<AuditEvent, 'chain' | 'actor'>): string;
};

const ME = `sub_${'a'.repeat(32)}`;
const OTHER = `sub_${'b'.repeat(32)}`;
const TYPES = ['user', 'api_key', 'admin', 'system', 'robot'] as const;
const SUBJECTS = [ME, OTHER, null];
const KEYS = ['key_1', null];
const CHAINS = [ME, 'system'];

describe('the audit actor wording of the settings page is the SDK’s (and so the CLI’s)', () => {
  it('has the same table of words', () => {
    expect({ ...page.ACTOR_WORDS }).toEqual({ ...AUDIT_ACTOR_WORDS });
    expect(Object.isFrozen(page.ACTOR_WORDS)).toBe(true);
  });

  it('describes every combination of actor type, subject, API key and chain the same way', () => {
    let compared = 0;
    for (const type of TYPES)
      for (const subject of SUBJECTS)
        for (const apiKeyId of KEYS)
          for (const chain of CHAINS) {
            const event = { chain, actor: { type, subject, apiKeyId } } as Pick<
              AuditEvent,
              'chain' | 'actor'
            >;
            expect(page.describeActor(event), JSON.stringify(event)).toBe(describeAuditActor(event));
            compared++;
          }
    expect(compared).toBe(TYPES.length * SUBJECTS.length * KEYS.length * CHAINS.length);
  });
});
