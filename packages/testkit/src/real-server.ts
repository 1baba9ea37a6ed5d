import { magicLinkFor, type RealServer } from '../../server/test/helpers/real-server.js';

// The server's own helper starts the app in this process on in-memory PGlite; the kit adds the steps a
// person takes in the browser, which the SDK and CLI suites both need to get a signed-in account.
export {
  freePort,
  magicLinkFor,
  type RealServer,
  startRealServer,
} from '../../server/test/helpers/real-server.js';

/**
 * Signs a user in through the server's own browser endpoints, as a person would: asks for a magic link,
 * reads it from the development outbox (the server log), and uses it. Returns the session cookie.
 */
export async function signInWithMagicLink(server: RealServer, email: string): Promise<string> {
  const headers = { 'content-type': 'application/json', origin: server.url };
  const asked = await fetch(`${server.url}/api/auth/magic-link`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email }),
  });
  if (asked.status !== 202) throw new Error(`magic-link request: ${asked.status} ${await asked.text()}`);
  const link = magicLinkFor(server, email);
  const token = link ? new URL(link).searchParams.get('token') : null;
  if (!token) throw new Error('no magic link in the server log');
  const verified = await fetch(`${server.url}/api/auth/magic-link/verify`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ token }),
  });
  if (verified.status !== 200)
    throw new Error(`magic-link verify: ${verified.status} ${await verified.text()}`);
  const cookie = verified.headers.getSetCookie().find((c) => c.startsWith('__Host-fleece_session='));
  if (!cookie) throw new Error('no session cookie');
  return cookie.split(';')[0]!;
}

/**
 * Signs `cookie`'s user in on the CLI through the device flow (RFC 8628), approved through the `/device`
 * page endpoint, and returns the access token, as `fleece login --device` would store it.
 */
export async function cliAccessToken(server: RealServer, cookie: string): Promise<string> {
  const json = { 'content-type': 'application/json' };
  const start = await fetch(`${server.url}/api/auth/device/code`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ client_id: 'fleece-cli' }),
  });
  const { device_code, user_code } = (await start.json()) as { device_code: string; user_code: string };
  const decided = await decideDevice(server, cookie, user_code, 'approve');
  if (decided.status !== 200) throw new Error(`device decision: ${decided.status} ${await decided.text()}`);
  const res = await fetch(`${server.url}/api/auth/device/token`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code,
      client_id: 'fleece-cli',
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/**
 * Puts the signed-in admin's own account on `plan` through the admin API (billing is off in tests).
 * @throws when the server refuses.
 */
export async function setOwnPlan(server: RealServer, cookie: string, plan: string): Promise<void> {
  const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).json()) as {
    user: { id: string };
  };
  const patched = await fetch(`${server.url}/api/v1/admin/users/${me.user.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', origin: server.url, cookie },
    body: JSON.stringify({ plan }),
  });
  if (patched.status !== 200) throw new Error(`plan change: ${patched.status} ${await patched.text()}`);
}

/** Approves (or denies) the device showing `userCode`, through the server's `/device` page endpoint. */
export async function decideDevice(
  server: RealServer,
  cookie: string,
  userCode: string,
  decision: 'approve' | 'deny',
): Promise<Response> {
  return fetch(`${server.url}/api/auth/device/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, cookie },
    body: JSON.stringify({ userCode, decision }),
  });
}

/**
 * Gives consent on the server's CLI sign-in page (`POST /api/auth/cli/authorize`) for the authorization
 * URL the CLI opened, as the signed-in user, and returns where the server sends the browser next.
 */
export async function consentToCli(
  server: RealServer,
  cookie: string,
  authorizeUrl: string,
): Promise<string> {
  const params = Object.fromEntries(new URL(authorizeUrl).searchParams);
  const response = await fetch(`${server.url}/api/auth/cli/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, cookie },
    body: JSON.stringify({ ...params, decision: 'approve' }),
  });
  if (response.status !== 200) throw new Error(`consent: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { redirectTo: string }).redirectTo;
}
