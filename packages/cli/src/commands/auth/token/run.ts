import { credentialInfo } from '../../../lib/credential-info.js';
import type { Invocation } from '../../../lib/invocation.js';
import { ApiSession } from '../../../lib/session.js';
import type { TokenOptions } from './index.js';

/** Runs `fleece auth token`. */
export async function run(inv: Invocation, options: TokenOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  await session.client(); // refreshes an access token that is about to expire
  const source = session.source;
  const token = source.kind === 'env' ? source.value : source.credential.accessToken;
  if (options.json) {
    const { type, expiresAt } = credentialInfo(source);
    inv.out.json({ token, type, expiresAt });
  } else {
    inv.out.data(token);
  }
}
