import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { API_KEY_SECRET, apiKeyBody, BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { NotFoundError, PermissionDeniedError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const KEY = apiKeyBody({ scopes: ['read', 'agents:execute'] });
const SECRET = API_KEY_SECRET;

describe('client.apiKeys', () => {
  it('creates a key, sending the body once and returning the secret', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${BASE_URL}/api/v1/api-keys`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({ ...KEY, key: SECRET }, { status: 201 });
      }),
    );
    const created = await mswClient({ apiKey: undefined, accessToken: 'at_1' }).apiKeys.create({
      name: 'ci',
      scopes: ['read', 'agents:execute'],
      expiresIn: 90,
    });
    expect(created).toEqual({ ...KEY, key: SECRET });
    expect(bodies).toEqual([{ name: 'ci', scopes: ['read', 'agents:execute'], expiresIn: 90 }]);
  });

  it('does not retry a create that failed on the server (a retry could make a second key)', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE_URL}/api/v1/api-keys`, () => {
        calls++;
        return problem(500, 'internal_error');
      }),
    );
    await expect(mswClient().apiKeys.create({ name: 'ci' })).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('rejects with PermissionDeniedError carrying upgrade: true at the plan limit', async () => {
    server.use(
      http.post(`${BASE_URL}/api/v1/api-keys`, () =>
        problem(403, 'plan_limit_reached', {
          detail: 'The Pro plan allows 5 API keys.',
          upgrade: true,
          limit: 'apiKeys',
          max: 5,
        }),
      ),
    );
    const error = await mswClient()
      .apiKeys.create({ name: 'sixth' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).upgrade).toBe(true);
    expect((error as PermissionDeniedError).code).toBe('plan_limit_reached');
  });

  it('lists every key across pages', async () => {
    const cursors: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/api/v1/api-keys`, ({ request }) => {
        const cursor = new URL(request.url).searchParams.get('cursor');
        cursors.push(cursor);
        return HttpResponse.json(
          cursor === null
            ? { data: [KEY], nextCursor: 'c2' }
            : { data: [{ ...KEY, id: 'key_second0000000000000000' }], nextCursor: null },
        );
      }),
    );
    const ids: string[] = [];
    for await (const key of mswClient().apiKeys.list({ limit: 1 })) ids.push(key.id);
    expect(ids).toEqual([KEY.id, 'key_second0000000000000000']);
    expect(cursors).toEqual([null, 'c2']);
  });

  it('revokes by id (path-encoded) and maps 404 to NotFoundError', async () => {
    const paths: string[] = [];
    server.use(
      http.delete(`${BASE_URL}/api/v1/api-keys/:id`, ({ request, params }) => {
        paths.push(new URL(request.url).pathname);
        return params.id === KEY.id ? new HttpResponse(null, { status: 204 }) : problem(404, 'not_found');
      }),
    );
    await expect(mswClient().apiKeys.revoke(KEY.id)).resolves.toBeUndefined();
    await expect(mswClient().apiKeys.revoke('key_../x')).rejects.toBeInstanceOf(NotFoundError);
    expect(paths).toEqual([`/api/v1/api-keys/${KEY.id}`, '/api/v1/api-keys/key_..%2Fx']);
  });
});
