import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { accountDeletionBody, BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { ConflictError, PermissionDeniedError, ResponseValidationError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const PENDING = accountDeletionBody('pending_deletion');
const ACTIVE = accountDeletionBody('active');
const session = () => mswClient({ apiKey: undefined, accessToken: 'at_1' });

describe('client.account.deletion', () => {
  it('reads the deletion state', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/account/deletion`, () => HttpResponse.json(PENDING)));
    expect(await session().account.deletion.status()).toEqual(PENDING);
  });

  it('requests deletion with a bodiless POST, once, and resolves with the purge date', async () => {
    const seen: { contentType: string | null; body: string; authorization: string | null }[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/account/deletion`, async ({ request }) => {
        seen.push({
          contentType: request.headers.get('content-type'),
          body: await request.text(),
          authorization: request.headers.get('authorization'),
        });
        return HttpResponse.json(PENDING, { status: 202 });
      }),
    );
    const state = await session().account.deletion.request();
    expect(state.purgeAfter).toBe('2026-03-08T09:00:00.000Z');
    expect(seen).toEqual([{ contentType: null, body: '', authorization: 'Bearer at_1' }]);
  });

  it('does not retry a request that failed on the server (the first attempt may have revoked the token)', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE_URL}/api/v1/account/deletion`, () => {
        calls++;
        return problem(503, 'service_unavailable');
      }),
    );
    await expect(session().account.deletion.request()).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('rejects with PermissionDeniedError reauthentication_required for a stale sign-in', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/account/deletion`, () =>
        problem(403, 'reauthentication_required', { detail: 'Sign in again.', maxAgeSeconds: 600 }),
      ),
    );
    const error = await session()
      .account.deletion.request()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).code).toBe('reauthentication_required');
  });

  it('cancels, and rejects with ConflictError deletion_not_pending without retrying', async () => {
    server.use(http.post(`${BASE_URL}/api/v1/account/deletion/cancel`, () => HttpResponse.json(ACTIVE)));
    expect(await session().account.deletion.cancel()).toEqual(ACTIVE);
    let calls = 0;
    server.use(
      http.post(`${BASE_URL}/api/v1/account/deletion/cancel`, () => {
        calls++;
        return problem(409, 'deletion_not_pending');
      }),
    );
    const error = await session()
      .account.deletion.cancel()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).code).toBe('deletion_not_pending');
    expect(calls).toBe(1);
  });

  it('validates the answer against the contract, naming the field', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/account/deletion`, () =>
        HttpResponse.json({ ...PENDING, purgeAfter: 'next week' }),
      ),
    );
    const error = await session()
      .account.deletion.status()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('purgeAfter');
  });
});
