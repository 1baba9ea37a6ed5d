import { credentialInfo } from '../../../lib/credential-info.js';
import type { Invocation } from '../../../lib/invocation.js';
import { ApiSession } from '../../../lib/session.js';
import type { TokenOptions } from './index.js';

/** Runs `fleece auth token`. */
export async function run(inv: Invocation, options: TokenOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  // The credential is checked with the server before it is printed: a script must not go on with a
  // revoked or expired one. A stored login is refreshed first (before it expires, or after a 401); a
  // refused credential exits 3 with the server's reason (expired, revoked or unknown).
  await session.call('GET /api/v1/me', (client) => client.me.get({ signal: inv.ctx.signal }));
  const source = session.source;
  const token = source.kind === 'env' ? source.value : source.credential.accessToken;
  if (options.json) {
    const { type, expiresAt } = credentialInfo(source);
    inv.out.json({ token, type, expiresAt });
  } else {
    inv.out.data(token);
  }
}
