import type { MeResponse } from '@fleece/sdk';
import { noBrowserReason } from '../../lib/browser.js';
import { setProfileServer } from '../../lib/config.js';
import type { CredentialStore, StoredCredential } from '../../lib/credentials/index.js';
import { credentialFromEnv } from '../../lib/env.js';
import { ValidationError } from '../../lib/errors.js';
import { parseDuration } from '../../lib/format.js';
import type { Invocation } from '../../lib/invocation.js';
import { withLock } from '../../lib/lock.js';
import { configDir } from '../../lib/paths.js';
import { anonymousClient, createClient, track } from '../../lib/sdk.js';
import { messages, selectFlags, where } from '../../messages.js';
import { browserLogin } from './browser.js';
import { deviceLogin } from './device.js';
import type { LoginOptions } from './index.js';
import { chooseStore } from './storage.js';
import { readToken, verifyToken } from './with-token.js';

/** The longest `--timeout` accepted: one hour. */
const MAX_TIMEOUT_MS = 3_600_000;

/** Runs `fleece login`. */
export async function run(inv: Invocation, options: LoginOptions): Promise<void> {
  const { ctx, out } = inv;
  const env = credentialFromEnv(ctx);
  if (env)
    throw new ValidationError(messages.envOverridesLogin(env.name), {
      hint: messages.envOverridesLoginHint(env.name),
    });
  if (options.withToken && options.device) {
    throw new ValidationError(messages.withTokenConflicts, { hint: messages.withTokenConflictsHint });
  }
  const timeoutMs = parseDuration(options.timeout, MAX_TIMEOUT_MS);
  if (timeoutMs === undefined) {
    throw new ValidationError(messages.badTimeout(options.timeout), { hint: messages.badTimeoutHint });
  }
  const { url: server, source } = await inv.server();
  const at = where(server, inv.profile);
  const flags = selectFlags(server, inv.profile, source !== 'flag');
  const credentials = await inv.credentials();

  let store: CredentialStore;
  let credential: StoredCredential;
  let me: MeResponse | undefined;
  if (options.withToken) {
    const token = await readToken(inv);
    ({ credential, me } = await verifyToken(inv, server, token));
    store = await chooseStore(inv, credentials, Boolean(options.insecureStorage));
  } else {
    // Where the credentials will go is settled (and said) before the user signs in.
    store = await chooseStore(inv, credentials, Boolean(options.insecureStorage));
    const noBrowser = noBrowserReason(ctx);
    let tokens = null;
    if (!options.device && noBrowser) out.info(messages.noBrowser(noBrowser));
    if (!options.device && !noBrowser) {
      const result = await browserLogin(inv, server, { timeoutMs, flags });
      if (result !== 'no-browser') tokens = result;
    }
    tokens ??= await deviceLogin(inv, server, { openBrowser: !noBrowser, flags });
    credential = {
      server,
      profile: inv.profile,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: new Date(ctx.now() + tokens.expires_in * 1000).toISOString(),
      tokenType: 'bearer',
    };
  }

  // Under the refresh lock, so a refresh in another process cannot overwrite the new login.
  const previous = await withLock(configDir(ctx), `${inv.profile}@${server}`, async () => {
    const found = await credentials.find(server, inv.profile).catch(() => undefined);
    await credentials.save(store, credential);
    return found;
  });
  await setProfileServer(ctx, inv.profile, server);
  await revokeReplaced(inv, server, previous?.credential, credential);

  if (!me) {
    try {
      const client = createClient(inv, server, { accessToken: credential.accessToken });
      me = await track(out, 'GET /api/v1/me', client.me.get({ signal: ctx.signal }));
    } catch (error) {
      out.debug(`Could not read the account: ${(error as Error).message}`);
    }
  }
  out.success(messages.loggedIn(at, me?.user.email));
  out.info(messages.storedIn(store.description));
}

/** Ends the session of a login this one replaces (best effort: a failure only shows under --verbose). */
async function revokeReplaced(
  inv: Invocation,
  server: string,
  previous: StoredCredential | undefined,
  next: StoredCredential,
): Promise<void> {
  if (!previous?.refreshToken || previous.refreshToken === next.refreshToken) return;
  try {
    await track(
      inv.out,
      'POST /api/auth/revoke (replaced login)',
      anonymousClient(inv, server).auth.revoke(
        { token: previous.refreshToken, tokenTypeHint: 'refresh_token' },
        { signal: inv.ctx.signal, maxRetries: 0 },
      ),
    );
  } catch (error) {
    inv.out.debug(`Could not revoke the replaced login: ${(error as Error).message}`);
  }
}
