import { APIUserAbortError } from '@fleece/sdk';
import { credentialFromEnv } from '../../lib/env.js';
import { CliError, NotAuthenticatedError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { withLock } from '../../lib/lock.js';
import { configDir } from '../../lib/paths.js';
import { anonymousClient, fromSdkError, track, withoutRequestId } from '../../lib/sdk.js';
import { messages, selectFlags, where } from '../../messages.js';

/** Runs `fleece logout`. */
export async function run(inv: Invocation): Promise<void> {
  const { ctx, out } = inv;
  const { url: server, source } = await inv.server();
  const at = where(server, inv.profile);
  const env = credentialFromEnv(ctx);
  const credentials = await inv.credentials();
  // Under the refresh lock, so a concurrent refresh cannot write the tokens back after they are deleted.
  const outcome = await withLock(configDir(ctx), `${inv.profile}@${server}`, async () => {
    const found = await credentials.find(server, inv.profile);
    if (!found) return undefined;
    const { credential } = found;
    let failure: CliError | undefined;
    if (credential.tokenType === 'bearer') {
      try {
        await track(
          out,
          'POST /api/auth/revoke',
          anonymousClient(inv, server).auth.revoke(
            credential.refreshToken
              ? { token: credential.refreshToken, tokenTypeHint: 'refresh_token' }
              : { token: credential.accessToken, tokenTypeHint: 'access_token' },
            { signal: ctx.signal },
          ),
        );
      } catch (error) {
        if (error instanceof APIUserAbortError) throw error;
        const mapped = fromSdkError(error, server);
        failure = new CliError(messages.revokeFailed(withoutRequestId(mapped?.message ?? String(error))), {
          hint: messages.revokeFailedHint,
          requestId: mapped?.requestId,
          cause: error,
        });
      }
    }
    await credentials.remove(server, inv.profile);
    return { credential, failure };
  });
  if (!outcome) {
    throw new NotAuthenticatedError(messages.notLoggedIn(at), {
      hint: env
        ? messages.envStillSet(env.name)
        : messages.notLoggedInHint(selectFlags(server, inv.profile, source !== 'flag')),
    });
  }
  out.success(messages.loggedOut(at));
  if (outcome.credential.tokenType === 'api_key') out.info(messages.apiKeyNotRevoked);
  if (env) out.warn(messages.envStillSet(env.name));
  if (outcome.failure) throw outcome.failure;
}
