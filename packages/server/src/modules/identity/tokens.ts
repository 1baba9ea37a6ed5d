import { hkdfSync, randomBytes } from 'node:crypto';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../../lib/clock.js';

/**
 * Access tokens: JWTs (RFC 7519) signed with HS256 under a key derived from `FLEECE_SECRET` by HKDF-SHA256
 * (RFC 5869). The algorithm is pinned: verification accepts HS256 only, so `alg: none` and algorithm
 * switching (e.g. an RS256 token "signed" with the HMAC key as a public key) fail. `iss` is the public URL,
 * `aud` names the kind of token, and `sid` the server-side session that must still be valid.
 */

/** The only JWS algorithm issued and accepted. */
export const JWT_ALGORITHM = 'HS256';

/** The JOSE `typ` of access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** `aud` of each kind of token: the browser session cookie, the CLI bearer token, the OAuth login state. */
export const AUDIENCES = {
  browser: 'fleece:browser-session',
  cli: 'fleece:cli',
  oauthState: 'fleece:oauth-state',
} as const;

/** Lifetime of the JWT inside the session cookie, in seconds (15 minutes). */
export const BROWSER_ACCESS_TOKEN_TTL_S = 15 * 60;
/** Lifetime of a CLI access token, in seconds (1 hour). */
export const CLI_ACCESS_TOKEN_TTL_S = 60 * 60;
/** Tolerated clock skew between instances when checking `exp`, `nbf` and `iat`, in seconds. */
export const CLOCK_TOLERANCE_S = 5;

/** The kinds of access token: which `aud` they carry. */
export type AccessTokenKind = 'browser' | 'cli';

/** The claims of a verified access token. */
export interface AccessTokenClaims {
  /** User id (`usr_…`). */
  sub: string;
  /** Session id (`ses_…`). */
  sid: string;
  kind: AccessTokenKind;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issue time, seconds since the epoch. */
  iat: number;
}

/** Why a token was refused. `expired` carries the verified claims, for sliding cookie sessions. */
export type VerifyResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: 'expired'; claims: AccessTokenClaims }
  | { ok: false; reason: 'invalid' };

/** Derives a 256-bit key for one purpose from the root secret (HKDF-SHA256, RFC 5869). */
export function deriveKey(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'fleece-jwt-v1', `fleece/${purpose}`, 32));
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function claimsOf(payload: JWTPayload, kind: AccessTokenKind): AccessTokenClaims | undefined {
  const { sub, sid, exp, iat } = payload as JWTPayload & { sid?: unknown };
  if (typeof sub !== 'string' || !sub.startsWith('usr_')) return undefined;
  if (typeof sid !== 'string' || !sid.startsWith('ses_')) return undefined;
  if (typeof exp !== 'number' || typeof iat !== 'number') return undefined;
  return { sub, sid, kind, exp, iat };
}

/** What {@link TokenService} is built from (its dependencies and settings). */
export interface TokenServiceOptions {
  /** The root secret (`FLEECE_SECRET`); the signing keys are derived from it. */
  secret: string;
  /** The `iss` of every token: `FLEECE_PUBLIC_URL`. */
  issuer: string;
  clock: Clock;
}

/**
 * Issues and verifies access tokens for one deployment (`issuer` = `FLEECE_PUBLIC_URL`), reading time from
 * the app clock.
 */
export class TokenService {
  private readonly accessKey: Uint8Array;
  private readonly stateKey: Uint8Array;

  constructor(private readonly deps: TokenServiceOptions) {
    const { secret } = deps;
    this.accessKey = deriveKey(secret, 'access-token');
    this.stateKey = deriveKey(secret, 'oauth-state');
  }

  /**
   * Signs an access token for session `sid` of user `sub`: 15 minutes for `browser`, 1 hour for `cli`.
   * `fixed` pins the issue time and `jti` (base64url) instead of now and 96 random bits: HS256 is
   * deterministic, so the same inputs sign the byte-identical token again (the replayed answer of a retried
   * refresh, RFC 6749 §6 rotation in grants.service.ts).
   * @returns the compact JWS and its lifetime in seconds.
   */
  async issueAccessToken(
    kind: AccessTokenKind,
    sub: string,
    sid: string,
    fixed?: { issuedAt: Date; jti: string },
  ): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = kind === 'browser' ? BROWSER_ACCESS_TOKEN_TTL_S : CLI_ACCESS_TOKEN_TTL_S;
    const now = seconds(fixed?.issuedAt ?? this.deps.clock.now());
    const token = await new SignJWT({ sid })
      .setProtectedHeader({ alg: JWT_ALGORITHM, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.deps.issuer)
      .setAudience(AUDIENCES[kind])
      .setSubject(sub)
      .setJti(fixed?.jti ?? randomBytes(12).toString('base64url'))
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expiresIn)
      .sign(this.accessKey);
    return { token, expiresIn };
  }

  /**
   * Verifies an access token of the given kind: HS256 only, `typ` `at+jwt`, exact `iss` and `aud`, and
   * `exp`/`nbf` against the app clock (± {@link CLOCK_TOLERANCE_S}). Never throws.
   *
   * @returns the claims; or `expired` with the (authenticated) claims when only the expiry failed; or
   *   `invalid` for anything else (bad signature, algorithm, audience, issuer, type, not yet valid, garbage).
   */
  async verifyAccessToken(token: string, kind: AccessTokenKind): Promise<VerifyResult> {
    const options = {
      algorithms: [JWT_ALGORITHM],
      issuer: this.deps.issuer,
      audience: AUDIENCES[kind],
      typ: ACCESS_TOKEN_TYPE,
      currentDate: this.deps.clock.now(),
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'sid', 'exp', 'iat', 'nbf'],
    };
    try {
      const { payload } = await jwtVerify(token, this.accessKey, options);
      const claims = claimsOf(payload, kind);
      return claims ? { ok: true, claims } : { ok: false, reason: 'invalid' };
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        // The signature was checked before the claims; the other claims are re-checked here because jose
        // may stop at the first failing one.
        const p = error.payload;
        const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
        const nbfOk =
          typeof p.nbf === 'number' && p.nbf <= seconds(this.deps.clock.now()) + CLOCK_TOLERANCE_S;
        const claims = claimsOf(p, kind);
        if (p.iss === this.deps.issuer && aud.length === 1 && aud[0] === AUDIENCES[kind] && nbfOk && claims) {
          return { ok: false, reason: 'expired', claims };
        }
      }
      return { ok: false, reason: 'invalid' };
    }
  }

  /** Signs the short-lived OAuth login state (`aud` `fleece:oauth-state`), valid for `ttlSeconds`. */
  async signState(state: Record<string, string>, ttlSeconds: number): Promise<string> {
    const now = seconds(this.deps.clock.now());
    return new SignJWT(state)
      .setProtectedHeader({ alg: JWT_ALGORITHM, typ: 'JWT' })
      .setIssuer(this.deps.issuer)
      .setAudience(AUDIENCES.oauthState)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.stateKey);
  }

  /** Verifies a login state signed by {@link signState}; `undefined` when forged, foreign or expired. */
  async verifyState(token: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.stateKey, {
        algorithms: [JWT_ALGORITHM],
        issuer: this.deps.issuer,
        audience: AUDIENCES.oauthState,
        currentDate: this.deps.clock.now(),
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}
