import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPkcePair, createState, pkceChallenge, verifyState } from '../../src/index.js';

describe('PKCE (RFC 7636)', () => {
  it('computes the S256 challenge of the RFC 7636 Appendix B example', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('creates a 43-character base64url verifier with its S256 challenge', () => {
    const pair = createPkcePair();
    expect(pair.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.codeChallengeMethod).toBe('S256');
    expect(pair.codeChallenge).toBe(createHash('sha256').update(pair.codeVerifier).digest('base64url'));
    expect(createPkcePair().codeVerifier).not.toBe(pair.codeVerifier);
  });

  it.each(['short', 'x'.repeat(129), `${'a'.repeat(43)}!`])('rejects the verifier %s', (verifier) => {
    expect(() => pkceChallenge(verifier)).toThrow(RangeError);
  });
});

describe('OAuth state', () => {
  it('creates distinct 43-character base64url values', () => {
    const state = createState();
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createState()).not.toBe(state);
  });

  it('accepts only the exact state', () => {
    const state = createState();
    expect(verifyState(state, state)).toBe(true);
    expect(verifyState(state, `${state.slice(0, -1)}x`)).toBe(false);
    expect(verifyState(state, state.slice(1))).toBe(false);
    expect(verifyState(state, null)).toBe(false);
    expect(verifyState(state, '')).toBe(false);
  });
});
