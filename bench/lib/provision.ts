import { API_KEY_SCOPES, type LimitOverrides, type PlanId } from '@fleece/sdk';

/** What {@link provisionAccount} made on a server: the account's API key and a signed-in session. */
export interface ProvisionedAccount {
  userId: string;
  /** The new API key (`flc_…`). */
  key: string;
  /** Headers of a session request: JSON content type, the server's `Origin` and the session cookie. */
  session: Record<string, string>;
}

/** Options of {@link provisionAccount}. */
export interface ProvisionOptions {
  /** The server's public origin (its `Origin` check compares against it). */
  origin: string;
  /** The account; it must be in the server's `FLEECE_ADMIN_EMAILS`, since the plan is set as admin. */
  email: string;
  /** Reads back the magic link the server's outbox (its log) wrote after the link was asked for. */
  magicLink: () => Promise<string>;
  /** The plan, default `pro`; `limits` are Enterprise overrides. */
  plan?: PlanId;
  limits?: LimitOverrides;
  /** The key's scopes; every scope unless named (the API's default is read only: least privilege). */
  scopes?: string[];
}

async function ok(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  return res;
}

/**
 * Makes an account ready for a benchmark on the server at `url`, over HTTP as a person would: signs
 * `email` in through a magic link, puts the account on the plan through the admin API, and creates an API
 * key.
 *
 * @throws {Error} naming the step and the status when a step answers otherwise than it should.
 */
export async function provisionAccount(url: string, options: ProvisionOptions): Promise<ProvisionedAccount> {
  const json = { 'content-type': 'application/json', origin: options.origin };
  await ok(
    await fetch(`${url}/api/auth/magic-link`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: options.email }),
    }),
    202,
    'asking for a magic link',
  );
  const token = new URL(await options.magicLink()).searchParams.get('token');
  const verified = await ok(
    await fetch(`${url}/api/auth/magic-link/verify`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ token }),
    }),
    200,
    'the magic link',
  );
  const cookie = verified.headers
    .getSetCookie()
    .find((c) => c.includes('fleece_session='))
    ?.split(';')[0];
  if (!cookie) throw new Error('the sign-in set no session cookie');
  const session = { ...json, cookie };
  const me = (await (
    await ok(await fetch(`${url}/api/v1/me`, { headers: { cookie } }), 200, 'GET /api/v1/me')
  ).json()) as { user: { id: string } };
  await ok(
    await fetch(`${url}/api/v1/admin/users/${me.user.id}`, {
      method: 'PATCH',
      headers: session,
      body: JSON.stringify({
        plan: options.plan ?? 'pro',
        ...(options.limits ? { limits: options.limits } : {}),
      }),
    }),
    200,
    'the plan change',
  );
  const created = await ok(
    await fetch(`${url}/api/v1/api-keys`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'bench', scopes: options.scopes ?? [...API_KEY_SCOPES] }),
    }),
    201,
    'key creation',
  );
  const { key } = (await created.json()) as { key: string };
  return { userId: me.user.id, key, session };
}
