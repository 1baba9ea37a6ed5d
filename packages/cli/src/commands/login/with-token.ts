import { AuthenticationError, type MeResponse } from '@fleece/sdk';
import type { StoredCredential } from '../../lib/credentials/index.js';
import { NotAuthenticatedError, ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { createClient, track } from '../../lib/sdk.js';
import { jwtExpiry } from '../../lib/session.js';
import { messages } from '../../messages.js';

/** API keys start with this prefix; any other token is taken for an access token. */
export const API_KEY_PREFIX = 'flc_';

/**
 * Reads the token for `--with-token`: from the piped standard input, or from a masked prompt when stdin
 * is an interactive terminal. Never echoes it.
 *
 * @throws {ValidationError} (exit 2) for empty input or more than one token.
 */
export async function readToken(inv: Invocation): Promise<string> {
  const { ctx, out } = inv;
  let text = '';
  if (ctx.stdin.isTTY) {
    if (!out.interactive) throw new ValidationError(messages.emptyToken, { hint: messages.emptyTokenHint });
    text = await ctx.prompts.secret({ message: messages.tokenPrompt }, ctx.signal);
  } else {
    for await (const chunk of ctx.stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  }
  const token = text.trim();
  if (!token) throw new ValidationError(messages.emptyToken, { hint: messages.emptyTokenHint });
  if (/\s/.test(token)) {
    throw new ValidationError('Standard input holds more than one word: expected a single token.', {
      hint: messages.emptyTokenHint,
    });
  }
  return token;
}

/**
 * Checks a pasted token with the server (`GET /api/v1/me`) and returns the credential to store with the
 * account it belongs to.
 *
 * @throws {NotAuthenticatedError} (exit 3) when the server refuses it.
 */
export async function verifyToken(
  inv: Invocation,
  server: string,
  token: string,
): Promise<{ credential: StoredCredential; me: MeResponse }> {
  const apiKey = token.startsWith(API_KEY_PREFIX);
  const client = createClient(inv, server, apiKey ? { apiKey: token } : { accessToken: token });
  let me: MeResponse;
  try {
    me = await track(inv.out, 'GET /api/v1/me', client.me.get({ signal: inv.ctx.signal }));
  } catch (error) {
    if (error instanceof AuthenticationError) {
      throw new NotAuthenticatedError(messages.tokenRefused(server), {
        hint: messages.tokenRefusedHint,
        requestId: error.requestId,
        cause: error,
      });
    }
    throw error;
  }
  return {
    me,
    credential: {
      server,
      profile: inv.profile,
      accessToken: token,
      refreshToken: null,
      expiresAt: apiKey ? null : jwtExpiry(token),
      tokenType: apiKey ? 'api_key' : 'bearer',
    },
  };
}
