import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { originOf, signIn } from './identity.js';

/** A signed-in user: the session cookie header and the user id. */
export interface TestUser {
  cookie: string;
  userId: string;
  email: string;
}

/** Signs `email` in (creating the account) and puts it on `plan` (as the owner, outside the app). */
export async function userOnPlan(
  t: TestApp,
  email: string,
  plan: 'free' | 'pro' | 'business' | 'enterprise' = 'pro',
): Promise<TestUser> {
  const cookie = await signIn(t, email);
  const [row] = await t.db.ownerQuery<{ id: string }>(
    'update users set plan = $1 where lower(email) = lower($2) returning id',
    [plan, email],
  );
  // The plan changed behind the app's back: tell its caches, as an admin change would.
  t.app.invalidations.afterCommit(`u:${row!.id}`);
  return { cookie, userId: row!.id, email };
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

/** Creates a key for `user` and returns its plaintext and id (the create must succeed). */
export async function createKey(
  t: TestApp,
  user: TestUser,
  body: Record<string, unknown> = { name: 'ci' },
): Promise<{ key: string; id: string }> {
  const res = await postKey(t, user, body);
  expect(res.statusCode, res.body).toBe(201);
  const { key, id } = res.json();
  return { key, id };
}
