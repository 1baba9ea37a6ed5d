import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { WhoamiOptions } from './index.js';

/** Runs `fleece whoami`. */
export async function run(inv: Invocation, options: WhoamiOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const me = await session.call('GET /api/v1/me', (client) => client.me.get({ signal: inv.ctx.signal }));
  if (options.json) {
    const { id, email, name, role } = me.user;
    inv.out.json({
      server: session.server,
      profile: inv.profile,
      user: { id, email, name, role },
      plan: me.plan,
    });
  } else {
    inv.out.data(me.user.email);
  }
}
