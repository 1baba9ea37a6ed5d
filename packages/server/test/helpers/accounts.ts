import { API_KEY_SCOPES } from '@fleece/sdk/contract';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { CONSENT_POLICY_VERSIONS } from '../../src/modules/consents/service.js';
import type { TestApp } from './app.js';
import { originOf, signIn } from './identity.js';

/** A signed-in user: the session cookie header and the user id. */
export interface TestUser {
  cookie: string;
  userId: string;
  email: string;
}

/** Options of {@link userOnPlan}. */
export interface UserOptions {
  /**
   * Grant the `ai_processing` consent (current policy version) as the owner, outside the app, so the user
   * can execute agents and chat ("no consent, no AI"). Default `true`; the consent tests pass `false`.
   */
  aiConsent?: boolean;
}

/**
 * Signs `email` in (creating the account) and puts it on `plan` (as the owner, outside the app); by
 * default also grants the `ai_processing` consent (see {@link UserOptions.aiConsent}).
 */
export async function userOnPlan(
  t: TestApp,
  email: string,
  plan: 'free' | 'pro' | 'business' | 'enterprise' = 'pro',
  options: UserOptions = {},
): Promise<TestUser> {
  const cookie = await signIn(t, email);
  const [row] = await t.db.ownerQuery<{ id: string }>(
    'update users set plan = $1 where lower(email) = lower($2) returning id',
    [plan, email],
  );
  if (options.aiConsent ?? true) await grantAiConsent(t, row!.id);
  // The plan changed behind the app's back: tell its caches, as an admin change would.
  t.app.invalidations.afterCommit(`u:${row!.id}`);
  return { cookie, userId: row!.id, email };
}

/** Grants `userId` the `ai_processing` consent for the current policy version, as the owner (no audit event). */
export async function grantAiConsent(t: TestApp, userId: string): Promise<void> {
  await t.db.ownerQuery(
    `insert into consents (user_id, type, granted, policy_version, updated_at)
     values ($1, 'ai_processing', true, $2, now())
     on conflict (user_id, type) do update set granted = true, policy_version = excluded.policy_version`,
    [userId, CONSENT_POLICY_VERSIONS.ai_processing],
  );
}

/** Headers of a cookie-authenticated write (the Origin check of state-changing cookie requests). */
export function asSession(t: TestApp, user: TestUser): Record<string, string> {
  return { cookie: user.cookie, origin: originOf(t) };
}

/** `Authorization: Bearer <key>`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** `POST /api/v1/api-keys` as `user`. */
export function postKey(
  t: TestApp,
  user: TestUser,
  body: Record<string, unknown> = { name: 'ci' },
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: asSession(t, user),
    payload: body,
  });
}

/**
 * Creates a key for `user` and returns its plaintext and id (the create must succeed). Unless `body` says
 * otherwise, the key has every scope and never expires, since the tests using it are about something
 * else; the API's own defaults (read only, 30 days) are tested through {@link postKey}.
 */
export async function createKey(
  t: TestApp,
  user: TestUser,
  body: Record<string, unknown> = { name: 'ci' },
): Promise<{ key: string; id: string }> {
  const res = await postKey(t, user, { scopes: [...API_KEY_SCOPES], expiresIn: null, ...body });
  expect(res.statusCode, res.body).toBe(201);
  const { key, id } = res.json();
  return { key, id };
}
