import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { PermissionDeniedError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const USER = {
  id: 'usr_0123456789abcdefghijklmn',
  email: 'ada@example.com',
  name: null,
  role: 'user',
  status: 'active',
  emailVerified: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  plan: 'pro',
  limits: null,
};

describe('client.admin.users', () => {
  it('lists with search and filters in the query', async () => {
    let query = '';
    server.use(
      http.get(`${BASE_URL}/api/v1/admin/users`, ({ request }) => {
        query = new URL(request.url).search;
        return HttpResponse.json({ data: [USER], nextCursor: null });
      }),
    );
    const page = await mswClient({ apiKey: undefined, accessToken: 'at' }).admin.users.list({
      q: 'ada',
      plan: 'pro',
      limit: 10,
    });
    expect(page.data).toEqual([USER]);
    expect(new URLSearchParams(query).toString()).toBe('q=ada&plan=pro&limit=10');
  });

  it('updates a user with PATCH and returns the typed user', async () => {
    let body: unknown;
    server.use(
      http.patch(`${BASE_URL}/api/v1/admin/users/:id`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ ...USER, plan: 'enterprise', limits: { apiPerDay: 2_000_000 } });
      }),
    );
    const user = await mswClient().admin.users.update(USER.id, {
      plan: 'enterprise',
      limits: { apiPerDay: 2_000_000 },
    });
    expect(user).toMatchObject({ plan: 'enterprise', limits: { apiPerDay: 2_000_000 } });
    expect(body).toEqual({ plan: 'enterprise', limits: { apiPerDay: 2_000_000 } });
  });

  it('rejects with PermissionDeniedError for a non-admin', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/admin/users`, () => problem(403, 'forbidden')));
    await expect(mswClient().admin.users.list()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
