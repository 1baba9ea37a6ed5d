import { createHash, randomBytes } from 'node:crypto';
import type { TokenResponse } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { SESSION_COOKIE } from '../../src/plugins/authenticate.js';
import type { TestApp } from './app.js';

/** The origin test apps are reached at (the default `FLEECE_PUBLIC_URL` of {@link testConfig}). */
export function originOf(t: TestApp): string {
  return new URL(t.app.config.publicUrl).origin;
}

/** The value of cookie `name` set by a response, or `undefined`. */
export function setCookie(
  res: LightMyRequestResponse,
  name: string,
): { value: string; raw: string } | undefined {
  const header = res.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  const raw = all.find((c) => c.startsWith(`${name}=`));
  if (!raw) return undefined;
  return { value: decodeURIComponent(raw.slice(name.length + 1).split(';')[0]!), raw };
}

/** The most recent magic link the dev outbox wrote to the log. */
export function lastMagicLink(t: TestApp): string {
  const record = t.logs
    .records()
    .filter((r) => r.outbox === 'magic_link')
    .at(-1);
  expect(record, 'a magic link in the log').toBeDefined();
  return record!.link as string;
}

/** Asks for a magic link for `email` and returns its token. */
export async function requestMagicToken(t: TestApp, email: string, returnTo?: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/auth/magic-link',
    payload: returnTo === undefined ? { email } : { email, returnTo },
    remoteAddress: `10.0.${randomBytes(1)[0]}.${randomBytes(1)[0]}`,
  });
  expect(res.statusCode).toBe(202);
  return new URL(lastMagicLink(t)).searchParams.get('token')!;
}

/** Uses a magic-link token as the browser page does. */
export function verifyMagicToken(t: TestApp, token: string, remoteAddress = '127.0.0.1') {
  return t.app.inject({
    method: 'POST',
    url: '/api/auth/magic-link/verify',
    headers: { origin: originOf(t) },
    payload: { token },
    remoteAddress,
  });
}

/** Signs `email` in through a magic link; returns the `cookie` header value carrying the session. */
export async function signIn(t: TestApp, email: string): Promise<string> {
  const token = await requestMagicToken(t, email);
  const res = await verifyMagicToken(t, token);
  expect(res.statusCode).toBe(200);
  const cookie = setCookie(res, SESSION_COOKIE);
  expect(cookie).toBeDefined();
  return `${SESSION_COOKIE}=${cookie!.value}`;
}

/** A PKCE pair (RFC 7636). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Runs the whole device flow for a signed-in browser `cookie` and returns the CLI tokens. Every request
 * comes from `remoteAddress` (default 127.0.0.1): tests that start many flows spread them over addresses
 * so the per-IP limits of the auth endpoints do not trip.
 */
export async function deviceTokens(
  t: TestApp,
  cookie: string,
  remoteAddress = '127.0.0.1',
): Promise<TokenResponse> {
  const start = await t.app.inject({
    method: 'POST',
    url: '/api/auth/device/code',
    payload: { client_id: 'fleece-cli' },
    remoteAddress,
  });
  expect(start.statusCode).toBe(200);
  const { device_code, user_code } = start.json();
  const decided = await t.app.inject({
    method: 'POST',
    url: '/api/auth/device/decision',
    headers: { cookie, origin: originOf(t) },
    payload: { userCode: user_code, decision: 'approve' },
    remoteAddress,
  });
  expect(decided.statusCode).toBe(200);
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/auth/device/token',
    payload: {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code,
      client_id: 'fleece-cli',
    },
    remoteAddress,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** Audit events as the owner sees them, oldest first. */
export async function auditEvents(
  t: TestApp,
): Promise<
  { action: string; outcome: string; resource_id: string | null; metadata: Record<string, unknown> }[]
> {
  return t.db.ownerQuery('select action, outcome, resource_id, metadata from audit_events order by id');
}
