import { APIError, DeviceCodeExpiredError, type TokenResponse } from '@fleece/sdk';
import { CliError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { anonymousClient, track } from '../../lib/sdk.js';
import { messages } from '../../messages.js';

/**
 * The device authorization grant (RFC 8628): asks the server for a user code, shows it with the
 * verification address (opening the browser there when `openBrowser`), then polls until the user
 * approves or denies, honouring `interval` and `slow_down` (§3.5, in the SDK).
 *
 * @param flags - the `--server`/`--profile` flags to repeat in hints.
 * @throws {CliError} when the user denies the request, or the code expires first.
 */
export async function deviceLogin(
  inv: Invocation,
  server: string,
  options: { openBrowser: boolean; flags: string },
): Promise<TokenResponse> {
  const { out, ctx } = inv;
  const client = anonymousClient(inv, server);
  const grant = await track(
    out,
    'POST /api/auth/device/code',
    client.auth.deviceAuthorization({}, { signal: ctx.signal }),
  );
  out.notice(messages.deviceCode(out.colorErr.bold(grant.user_code)));
  // RFC 8628 §3.3.1: the complete URI carries the user code, so the user need not type it.
  const complete = grant.verification_uri_complete ?? grant.verification_uri;
  let opened = false;
  if (options.openBrowser) {
    try {
      await ctx.openBrowser(complete);
      opened = true;
    } catch (error) {
      out.debug(`Could not open a browser: ${(error as Error).message}`);
    }
  }
  out.notice(messages.deviceOpen(complete, grant.verification_uri, opened));
  const spinner = await out.spinner(messages.waitingForApproval, { announce: true });
  try {
    return await client.auth.pollDeviceToken(grant, {
      signal: ctx.signal,
      onPoll: (attempt, interval) =>
        out.debug(`POST /api/auth/device/token (poll ${attempt}, every ${interval} s)`),
    });
  } catch (error) {
    const requestId = (error as { requestId?: string }).requestId;
    if (
      error instanceof DeviceCodeExpiredError ||
      (error instanceof APIError && error.code === 'expired_token')
    ) {
      throw new CliError(messages.deviceExpired, {
        hint: messages.deviceExpiredHint(options.flags),
        requestId,
      });
    }
    if (error instanceof APIError && error.code === 'access_denied') {
      throw new CliError(messages.deviceDenied, { hint: messages.loginRetryHint(options.flags), requestId });
    }
    throw error;
  } finally {
    spinner.stop();
  }
}
