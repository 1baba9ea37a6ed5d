import { APIError, createPkcePair, createState, DEFAULT_CLIENT_ID, type TokenResponse } from '@fleece/sdk';
import { CliError, InterruptedError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { anonymousClient, track } from '../../lib/sdk.js';
import { messages } from '../../messages.js';
import { startLoopback } from './loopback.js';

/** The authorization request URL of the browser flow (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3). */
export function authorizeUrl(
  server: string,
  params: { redirectUri: string; codeChallenge: string; state: string },
): string {
  const query = new URLSearchParams({
    client_id: DEFAULT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: params.redirectUri,
    code_challenge: params.codeChallenge,
    code_challenge_method: 'S256',
    state: params.state,
  });
  return `${server}/api/auth/cli/authorize?${query}`;
}

/**
 * The browser flow for native apps (RFC 8252): a one-time HTTP receiver on 127.0.0.1 and a random port,
 * the sign-in page opened in the browser with an S256 PKCE challenge and a random `state`, then the
 * code exchanged with its verifier. Resolves with `'no-browser'` when the browser cannot be opened, so
 * the caller can fall back to the device flow.
 *
 * @throws {CliError} on timeout, when the sign-in is cancelled in the browser, or the code is refused.
 */
export async function browserLogin(
  inv: Invocation,
  server: string,
  options: { timeoutMs: number; flags: string },
): Promise<TokenResponse | 'no-browser'> {
  const { out, ctx } = inv;
  const { codeVerifier, codeChallenge } = createPkcePair();
  const state = createState();
  const loopback = await startLoopback({
    state,
    timeoutMs: options.timeoutMs,
    signal: ctx.signal,
    onStateMismatch: () => out.warn(messages.stateMismatch),
    timeoutError: () =>
      new CliError(messages.browserTimeout(Math.round(options.timeoutMs / 1000)), {
        hint: messages.browserTimeoutHint(options.flags),
      }),
    deniedError: (reason) =>
      new CliError(messages.browserDenied(reason), { hint: messages.loginRetryHint(options.flags) }),
    abortError: () => new InterruptedError(),
  });
  try {
    const url = authorizeUrl(server, { redirectUri: loopback.redirectUri, codeChallenge, state });
    out.info(messages.openingBrowser);
    try {
      await ctx.openBrowser(url);
    } catch (error) {
      out.warn(messages.browserFailed((error as Error).message));
      return 'no-browser';
    }
    out.info(messages.openUrlManually(url));
    const spinner = await out.spinner(messages.waitingForBrowser, { announce: true });
    let code: string;
    try {
      code = await loopback.code;
    } finally {
      spinner.stop();
    }
    try {
      return await track(
        out,
        'POST /api/auth/token (authorization code)',
        anonymousClient(inv, server).auth.exchangeAuthorizationCode(
          { code, codeVerifier, redirectUri: loopback.redirectUri },
          { signal: ctx.signal },
        ),
      );
    } catch (error) {
      if (error instanceof APIError && error.code === 'invalid_grant') {
        throw new CliError(messages.codeExchangeFailed, {
          hint: messages.loginRetryHint(options.flags),
          requestId: error.requestId,
          cause: error,
        });
      }
      throw error;
    }
  } finally {
    await loopback.close();
  }
}
