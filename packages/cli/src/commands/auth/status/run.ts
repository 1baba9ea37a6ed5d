import { credentialInfo, describeStorage, describeToken } from '../../../lib/credential-info.js';
import { table } from '../../../lib/format.js';
import type { Invocation } from '../../../lib/invocation.js';
import { displayPath } from '../../../lib/paths.js';
import { ApiSession } from '../../../lib/session.js';
import { where } from '../../../messages.js';
import type { StatusOptions } from './index.js';

/** Runs `fleece auth status`. */
export async function run(inv: Invocation, options: StatusOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const me = await session.call('GET /api/v1/me', (client) => client.me.get({ signal: inv.ctx.signal }));
  const info = credentialInfo(session.source);
  const { id, email, name, role } = me.user;
  if (options.json) {
    inv.out.json({
      server: session.server,
      profile: inv.profile,
      user: { id, email, name, role },
      plan: me.plan,
      credential: info,
    });
    return;
  }
  const c = inv.out.color;
  inv.out.data(
    table([
      ['Server', where(session.server, inv.profile)],
      ['User', `${c.bold(name ? `${name} <${email}>` : email)} (${id}${role === 'admin' ? ', admin' : ''})`],
      ['Plan', me.plan.name],
      ['Token', describeToken(info, inv.ctx.now())],
      ['Storage', describeStorage(info, (p) => displayPath(p, inv.ctx))],
    ]),
  );
}
