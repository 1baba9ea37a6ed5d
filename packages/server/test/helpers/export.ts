import { expect } from 'vitest';
import type { TestUser } from './accounts.js';
import type { TestApp } from './app.js';
import { auditEvents } from './identity.js';
import { seedExecutions } from './seed.js';

/**
 * Bulk-inserts `count` executions of `user` into `t`'s database, sealed with the app's current key
 * (test/helpers/seed.ts); returns their ids in creation order.
 */
export function seedUserExecutions(
  t: TestApp,
  user: TestUser,
  count: number,
  options?: Parameters<typeof seedExecutions>[4],
): Promise<string[]> {
  return seedExecutions(
    t.db.ownerQuery.bind(t.db),
    t.app.config.encryption.current,
    user.userId,
    count,
    options,
  );
}

/** The `data.exported` audit events of `t`'s database, oldest first. */
export async function exportedEvents(t: TestApp) {
  return (await auditEvents(t)).filter((e) => e.action === 'data.exported');
}

/** The `data.exported` event of an NDJSON export that stopped before its end, for `reason`. */
export function stoppedExport(reason: 'client_closed' | 'client_stalled') {
  return {
    action: 'data.exported',
    outcome: 'failure',
    resource_id: expect.any(String),
    metadata: { format: 'ndjson', completed: false, reason, bytesSent: expect.any(Number) },
  };
}
