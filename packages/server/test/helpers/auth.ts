import { API_KEY_SCOPES, type ApiKeyScope } from '@fleece/sdk/contract';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../src/plugins/auth.js';

/**
 * Test-only authentication: an `onRequest` hook that sets `request.principal` from test headers, so routes
 * can be exercised before (and independently of) the real sign-in. Never used outside tests.
 *
 * - `x-test-user: usr_a` → a session principal of user `usr_a`;
 * - `x-test-role: admin` → the same with the admin role;
 * - `x-test-key: key_1` → an API key principal with that key id, every scope (or those of
 *   `x-test-scopes: read,export`), and the Enterprise API limits.
 */
export function installTestAuth(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const userId = request.headers['x-test-user'];
    if (typeof userId !== 'string') return;
    const apiKeyId = request.headers['x-test-key'];
    const scopes = request.headers['x-test-scopes'];
    const principal: Principal = {
      type: typeof apiKeyId === 'string' ? 'api_key' : 'session',
      userId,
      role: request.headers['x-test-role'] === 'admin' ? 'admin' : 'user',
      ...(typeof apiKeyId === 'string'
        ? {
            apiKeyId,
            scopes: typeof scopes === 'string' ? (scopes.split(',') as ApiKeyScope[]) : API_KEY_SCOPES,
            apiLimits: { perMinute: 1_000, perDay: 500_000 },
          }
        : {}),
    };
    request.principal = principal;
  });
}

/** Headers that authenticate a test request as `userId` (optionally an admin, or through an API key). */
export function as(
  userId: string,
  options: { admin?: boolean; apiKeyId?: string } = {},
): Record<string, string> {
  return {
    'x-test-user': userId,
    ...(options.admin ? { 'x-test-role': 'admin' } : {}),
    ...(options.apiKeyId ? { 'x-test-key': options.apiKeyId } : {}),
  };
}
