import { DEFAULT_API_KEY_EXPIRY_DAYS, DEFAULT_API_KEY_SCOPES } from '@fleece/sdk';
import { table } from '../../lib/format.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { KeysOptions } from './index.js';
import { describeExpiry, parseExpiresIn, parseScopes } from './shared.js';

/**
 * Runs `fleece keys create`: the key on stdout (or in the JSON), the one-time warning on stderr, and the
 * defaults it got (the contract's: `read`, 30 days) when `--scopes` or `--expires-in` was left out.
 */
export async function run(inv: Invocation, options: KeysOptions): Promise<void> {
  const expiresIn = parseExpiresIn(options.expiresIn);
  const scopes = parseScopes(options.scopes);
  const session = await ApiSession.open(inv);
  const created = await session.call('POST /api/v1/api-keys', (client) =>
    client.apiKeys.create(
      {
        name: options.name!,
        ...(scopes ? { scopes } : {}),
        ...(expiresIn !== undefined ? { expiresIn } : {}),
      },
      { signal: inv.ctx.signal },
    ),
  );
  inv.out.warn(messages.keyShownOnce);
  if (scopes === undefined || expiresIn === undefined) {
    // Least privilege unless asked otherwise: say what the key got, and how to ask for more.
    inv.out.info(
      messages.keyDefaults(
        scopes === undefined ? DEFAULT_API_KEY_SCOPES.join(', ') : undefined,
        expiresIn === undefined ? DEFAULT_API_KEY_EXPIRY_DAYS : undefined,
      ),
    );
  }
  if (options.json) {
    inv.out.json(created);
    return;
  }
  inv.out.data(created.key);
  inv.out.info(
    table([
      ['Id', created.id],
      ['Name', created.name],
      ['Scopes', created.scopes.join(', ')],
      ['Expires', describeExpiry(created)],
    ]),
  );
}
