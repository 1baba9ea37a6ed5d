import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A PKCE pair for one authorization request (RFC 7636). */
export interface PkcePair {
  /** The secret `code_verifier`: 43 characters of base64url (32 random bytes), kept by the client. */
  codeVerifier: string;
  /** The `code_challenge` sent in the authorization request: BASE64URL(SHA-256(code_verifier)). */
  codeChallenge: string;
  /** Always `S256` (RFC 7636 §4.2); `plain` is never used. */
  codeChallengeMethod: 'S256';
}

/**
 * Computes the S256 `code_challenge` of a `code_verifier`: BASE64URL(SHA-256(ASCII(verifier))), without
 * padding (RFC 7636 §4.2).
 *
 * @throws {RangeError} when the verifier is not 43–128 characters of `[A-Z a-z 0-9 - . _ ~]` (§4.1).
 * @example
 * pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
 * // 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' (RFC 7636 Appendix B)
 */
export function pkceChallenge(codeVerifier: string): string {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(codeVerifier)) {
    throw new RangeError(
      'A PKCE code_verifier is 43–128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 §4.1)',
    );
  }
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/**
 * Creates a fresh PKCE pair (RFC 7636 §4.1–4.2): a `code_verifier` from 32 random bytes (256 bits,
 * base64url, 43 characters) and its S256 `code_challenge`.
 *
 * @example
 * const { codeVerifier, codeChallenge } = createPkcePair();
 * // open `${authorizeURL}?code_challenge=${codeChallenge}&code_challenge_method=S256&state=…`,
 * // then send codeVerifier with the code: client.auth.exchangeAuthorizationCode({ code, codeVerifier, … })
 */
export function createPkcePair(): PkcePair {
  const codeVerifier = randomBytes(32).toString('base64url');
  return { codeVerifier, codeChallenge: pkceChallenge(codeVerifier), codeChallengeMethod: 'S256' };
}

/**
 * Creates an OAuth `state` value (RFC 6749 §10.12): 32 random bytes as base64url (43 characters), to bind
 * an authorization response to the request that asked for it.
 *
 * @example
 * const state = createState(); // store it, send it, and compare it with verifyState() on the redirect
 */
export function createState(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Compares the `state` a redirect came back with against the one sent, in constant time. `false` for a
 * missing or different value: the response then must be rejected (RFC 6749 §10.12).
 *
 * @example
 * if (!verifyState(expectedState, url.searchParams.get('state'))) throw new Error('state mismatch');
 */
export function verifyState(expected: string, received: string | null | undefined): boolean {
  if (!received) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
