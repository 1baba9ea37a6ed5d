import { CliError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { AuditOptions } from './index.js';

/**
 * Runs `fleece audit verify`: checks the hash chain of the caller's audit log. Exits 0 when it is intact,
 * {@link ExitCode.INTEGRITY} (7) when it is broken.
 */
export async function run(inv: Invocation, options: AuditOptions): Promise<void> {
  const session = await ApiSession.open(inv);
  const result = await session.call('GET /api/v1/audit-events/verify', (client) =>
    client.audit.verify({ signal: inv.ctx.signal }),
  );
  if (options.json) inv.out.json(result);
  if (result.valid) {
    if (!options.json) inv.out.success(messages.auditIntact(result.checked));
    return;
  }
  throw new CliError(
    messages.auditBroken(result.firstBrokenEventId ?? 'an unknown event', result.reason ?? 'unknown'),
    {
      hint: messages.auditBrokenHint,
      exitCode: ExitCode.INTEGRITY,
    },
  );
}
