import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, meBody, useMsw } from '../../../testkit/src/index.js';
import { AuthenticationError, ResponseValidationError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const ME = meBody({ usage: { activeSessions: 2 } });

describe('client.me.get()', () => {
  it('sends the credential and returns the typed account', async () => {
    let authorization: string | null = null;
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json(ME);
      }),
    );
    await expect(mswClient({ apiKey: undefined, accessToken: 'at_1' }).me.get()).resolves.toEqual(ME);
    expect(authorization).toBe('Bearer at_1');
  });

  it('rejects with AuthenticationError on 401, naming the request id', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/me`, () => problem(401, 'unauthenticated')));
    const error = await mswClient()
      .me.get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).requestId).toBe('req_from_header');
  });

  it('names the mismatching field when the body does not match the contract', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/me`, () =>
        HttpResponse.json({ ...ME, user: { ...ME.user, id: 'agt_1' } }),
      ),
    );
    const error = await mswClient()
      .me.get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('user.id');
  });
});
